"""The study: from the scores tables of a profile's runs to every table the book shows.

One job per module, in the order the ``results`` stage runs them:

    fitting           read the runs, fit the ensembles and the bootstraps (:class:`Study`)
    endpoints         gaps, the primary endpoint, paired changes, secondary families
    power_tables      what the test sets can detect, against model card 000's claim
    shift_tables      the study per declared kind of shift and per manipulation method
    ensemble_diversity  disagreement, agreement, calibration, gain against diversity
    anomaly_tables    the one-class chapter's tables
    gap_tables        the gap chapter's tables beyond the results page's
    text              the one interval formatter and the sentences built from table rows
    verdict           the results page's paragraphs
    answer_box        the results page's answer box and caveats line
    method_mix        the gap like for like: the target's fakes reweighted to the source's methods
    seed_runs         how far the headline numbers move with the training seed, pooled over seeds
    results           the ``results`` stage: compute once, write every table, skip when current

The names below are re-exported so that ``from analysis.evaluation import study`` reaches
them all (``study.gap_table``); each module's own docstring says why it does what it does.
"""

from analysis.evaluation.study.fitting import (  # noqa: F401
    CARD_000_FIVE, ONE_CLASS_PAIR, CHANCE, PRIMARY_KIND, INTERPRETABLE, NOT_INTERPRETABLE, NO_CLEAR_BEST,
    load_scores, interpretable, Study, training_seeds, load_study, load_seeds, ci_columns, short_label,
)
from analysis.evaluation.study.endpoints import (  # noqa: F401
    PRIMARY_ANALYSIS, ALL_FIVE_ANALYSIS, GATE_MARGINS, clear_best_member, best_member_mde,
    five_against_best_member, gap_table, paired_changes, primary_endpoint, endpoint_row, gate_sensitivity, family_table,
    family_counts, subset_names, headline_names, incomplete_runs,
)
from analysis.evaluation.study.power_tables import (  # noqa: F401
    card_assumptions, test_design, measured_clustering, power_table, simultaneous_gate,
)
from analysis.evaluation.study.shift_tables import (  # noqa: F401
    shift_table, primary_per_shift, method_auc_table,
)
from analysis.evaluation.study.ensemble_diversity import (  # noqa: F401
    diversity_tables, calibration_table, reliability_points, gain_vs_diversity, gain_diversity_correlation,
    rank_correlation, row_spearman, combiner_table, diversity_results,
)
from analysis.evaluation.study.anomaly_tables import (  # noqa: F401
    pair_name, members_table, threshold_tables, threshold_order, agreement_table, versus_supervised, anomaly_results,
)
from analysis.evaluation.study.seed_runs import seed_spread, pooled_endpoint  # noqa: F401
from analysis.evaluation.study.method_mix import POOLED, SOURCE_MIX, like_for_like_tables  # noqa: F401
from analysis.evaluation.study.gap_tables import (  # noqa: F401
    best_member_power, level_table, gap_results,
)
from analysis.evaluation.study.text import (  # noqa: F401
    DASH, is_undefined, interval_text, ci_text, with_intervals, primary_shift_text, shift_summary,
    best_member_text, view_summary, threshold_transfer, diversity_gain_reading, incomplete_warning,
    seed_sentence, retrain_text, ensemble_vs_members_text, threshold_order_text, one_class_verdict,
    POSITIVE, NEGATIVE, NO_SIGN, ONE_CLASS_SMALLER, ONE_CLASS_LARGER, ONE_CLASS_UNCLEAR, ONE_CLASS_UNREAD,
    NO_SKILL_LEFT,
)
from analysis.evaluation.study.verdict import (  # noqa: F401
    MIN_GROUPS, BELOW_CHANCE, plain_summary, gate_sentence, trust_verdict, premise_sentence, shift_sentence,
)
from analysis.evaluation.study.results import (  # noqa: F401
    RESULTS, SUMMARY_DIR, RESULT_FILES, save_table, built_data_seed, write_results,
    results_code, summary, read_results, chapter_tables, verdict_tables,
)

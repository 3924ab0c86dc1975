"""The provenance page's table of every build the book quotes."""

import pandas as pd

from analysis.book import provenance
from analysis.evaluation.study.endpoints import ALL_FIVE_ANALYSIS, PRIMARY_ANALYSIS
from analysis.paths import STORED_DIR


def test_every_quoted_build_is_one_row_with_its_settings_and_endpoint():
    stored = pd.read_csv(STORED_DIR / "earlier_builds.csv")
    pooled = pd.DataFrame([{"analysis": "primary", "seeds": 3, "estimates": "+0.048, +0.050, +0.049",
                            "gap change": 0.049, "gap change low": 0.033, "gap change high": 0.065}])
    source = pd.DataFrame([{"source": "stored run", "date": "2026-12-03", "commit": "abc", "data seed": 1,
                            "commands": "python -m analysis results --profile cpu --store-seeds",
                            "stored primary": "soft_vote(a+b)", "primary here": "soft_vote(a+b+c)",
                            "training seeds": "0, 1, 2"}])
    endpoint = pd.DataFrame([{"analysis": a, "gap change": g, "gap change low": g - 0.01, "gap change high": g + 0.01}
                             for a, g in ((PRIMARY_ANALYSIS, 0.048), (ALL_FIVE_ANALYSIS, 0.056))])
    table = provenance.earlier_builds({"seed_pooled": pooled, "seed_source": source, "primary_endpoint": endpoint}, 1)
    assert len(table) == len(stored) + 1 + 2
    assert table["build"].tolist()[-3:] == ["stored run, 3 training seeds", "this build", "this build"]
    assert table["gap change"].tolist()[-3:] == [0.049, 0.048, 0.056]
    assert (table["gap change low"] <= table["gap change"]).all() and (table["gap change"] <= table["gap change high"]).all()
    assert table.iloc[len(stored)]["date"] == "2026-12-03" and "+0.050" in table.iloc[len(stored)]["what differed"]
    assert table["training seeds"].tolist()[-3:] == ["0, 1, 2", "0", "0"]  # named, not counted
    assert table[["build", "endpoint as then declared", "gap change"]].notna().all().all()
    declared = table["endpoint as then declared"].tolist()[-3:]  # each primary names its own ensemble
    assert declared == ["primary: soft_vote(a+b) vs mean member",
                        f"{PRIMARY_ANALYSIS}: soft_vote(a+b+c) vs mean member",
                        f"{ALL_FIVE_ANALYSIS} vs mean member"]

"""The model cards' published numbers, each with the test set it was measured on."""

from __future__ import annotations

from analysis.evaluation import published


def test_every_card_000_celebdf_number_names_all_videos_not_the_official_list():
    table = published.published_table()
    card = table[table["card"] == published.CARD_000]
    cross = card[card["test set"].str.contains("Celeb-DF")]
    assert len(cross) == 8 and cross["test set"].str.contains("all 6,528 videos").all()
    assert card[card["test set"] == published.FFPP_CARD_TEST]["model"].nunique() == 6


def test_card_002_numbers_are_attributed_to_their_own_datasets():
    assert published.published_value("vit_in21k (fine-tuned on Celeb-DF v2 frames)", "accuracy",
                                      published.CELEBDF_FRAMES) == 0.69
    assert published.published_value("vit_in21k (fine-tuned on Hemg images)", "accuracy",
                                      published.HEMG_IMAGES) == 0.6999
    table = published.published_table()
    assert not table[table["test set"].str.contains("76,134")]["test set"].str.contains("Celeb-DF").any()

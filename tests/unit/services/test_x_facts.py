"""What X says of posts: batches within X's lookup limit, engagements, and what is gone."""

from __future__ import annotations

from opsbot.services.x_facts import LOOKUP_BATCH, Gone, PostLookup, PostMetrics, batches


def test_batches_keep_to_x_s_limit_in_order_without_repeats() -> None:
    ids = [str(n) for n in range(250)]
    split = batches([*ids, "5", "17"])
    assert [len(batch) for batch in split] == [LOOKUP_BATCH, LOOKUP_BATCH, 50]
    assert [post_id for batch in split for post_id in batch] == ids
    assert batches([]) == []
    assert batches(["9", "9", "8"]) == [["9", "8"]]


def test_engagements_add_up_everything_but_impressions() -> None:
    metrics = PostMetrics(impressions=None, likes=5, reposts=2, replies=3, quotes=1, bookmarks=4)
    assert metrics.engagements == 15
    assert PostMetrics(1000, 0, 0, 0, 0, 0).engagements == 0


def test_only_a_post_x_said_is_gone_is_left_out() -> None:
    lookup = PostLookup(
        metrics={"1": PostMetrics(10, 1, 0, 0, 0, 0)},
        gone={"2": Gone.DELETED, "3": Gone.PROTECTED},
    )
    assert lookup.visible("1")
    assert not lookup.visible("2") and not lookup.visible("3")
    # Not in X's answer at all: nothing is left out on a guess.
    assert lookup.visible("4")
    # X could not be asked: nothing is gone.
    unanswered = PostLookup(answered=False)
    assert unanswered.visible("2") and unanswered.metrics == {}

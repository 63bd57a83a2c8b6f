"""Party A owners whose rejection rate is far above the others' (decision 0017)."""

from __future__ import annotations

from uuid import UUID, uuid4

from ring_task.domain import ReviewRecord, rejection_outliers


def _owners(n: int, approvals: int, rejections: int) -> list[ReviewRecord]:
    return [ReviewRecord(uuid4(), approvals, rejections) for _ in range(n)]


def test_an_owner_rejecting_most_work_is_flagged_against_the_others() -> None:
    heavy = ReviewRecord(UUID(int=1), approvals=2, rejections=10)
    usual = _owners(5, approvals=18, rejections=2)  # the norm: 10 % rejected
    (outlier,) = rejection_outliers([heavy, *usual])
    assert outlier.owner_id == heavy.owner_id
    assert (outlier.reviews, outlier.rejections) == (12, 10)
    assert (outlier.rejection_percent, outlier.others_percent) == (83, 10)


def test_few_reviews_a_lone_owner_and_a_strict_platform_flag_nobody() -> None:
    usual = _owners(5, approvals=18, rejections=2)
    assert rejection_outliers([ReviewRecord(uuid4(), 0, 9), *usual]) == []  # 9 < 10 reviews
    assert rejection_outliers([ReviewRecord(uuid4(), 0, 50)]) == []  # no norm to compare with
    strict = _owners(5, approvals=10, rejections=10)  # everyone rejects half
    assert rejection_outliers([ReviewRecord(uuid4(), 3, 7), *strict]) == []  # 70 % < 2 x 50 %
    assert rejection_outliers(usual) == []


def test_outliers_come_highest_rate_first() -> None:
    usual = _owners(5, approvals=19, rejections=1)
    worse, bad = ReviewRecord(uuid4(), 0, 12), ReviewRecord(uuid4(), 5, 7)
    assert [o.owner_id for o in rejection_outliers([bad, *usual, worse])] == [
        worse.owner_id,
        bad.owner_id,
    ]

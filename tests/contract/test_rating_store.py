"""The RatingStore contract: sums and counts per party, atomic adds."""

from __future__ import annotations

import threading

from vtc_dispatch.ports import RatingStore


def test_totals_per_party(rating_store: RatingStore) -> None:
    assert rating_store.totals("alice") == (0, 0)
    rating_store.add("alice", 5)
    rating_store.add("alice", 2)
    rating_store.add("bob", 4)
    assert rating_store.totals("alice") == (7, 2)
    assert rating_store.totals("bob") == (4, 1)


def test_concurrent_adds_all_count(rating_store: RatingStore) -> None:
    def rate_many() -> None:
        for _ in range(50):
            rating_store.add("alice", 3)

    threads = [threading.Thread(target=rate_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert rating_store.totals("alice") == (600, 200)

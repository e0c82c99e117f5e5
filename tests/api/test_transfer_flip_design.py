"""The transfer track's flip design on the board: the API, the CSV and the page say which design a transfer score is
of, and an entry whose transfer trials are all of an older design is marked and has no transfer rank."""

import csv
import io

from sqlalchemy import update

from db.models import Run, SubmissionKind
from harness.registry import FLIP_DESIGN

TRIALS = 2  # the smoke suite's, as the test service plans it


def test_an_older_flip_designs_transfer_score_is_shown_with_its_design_and_no_rank(client, factory, session):
    older = factory.submission(kind=SubmissionKind.BASELINE, trials=TRIALS, transfer=True)
    current = factory.submission(trials=TRIALS, transfer=True)
    factory.finish(older, robust_score={1: 0.70, 2: 0.72})
    factory.finish(current, robust_score={1: 0.60, 2: 0.61})
    session.execute(update(Run).where(Run.submission_id == older.id, Run.transfer).values(flip_design=1))
    board = client.get("/api/leaderboard").json()
    assert board["flip_design"] == FLIP_DESIGN
    entries = {entry["submission_id"]: entry for entry in board["data"]}
    assert entries[older.id]["transfer_flip_design"] == 1 and entries[older.id]["transfer"]["n"] == TRIALS
    assert entries[older.id]["transfer_rank_best"] is None and entries[older.id]["rank_best"] == 1
    assert entries[current.id]["transfer_flip_design"] == FLIP_DESIGN and entries[current.id]["transfer_rank_best"]
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(client.get("/api/leaderboard.csv").text))}
    assert rows[older.name]["transfer_flip_design"] == "1" and rows[older.name]["transfer_rank_best"] == ""
    assert rows[current.name]["transfer_flip_design"] == str(FLIP_DESIGN)
    page = client.get("/").text
    assert page.count('class="design-mark" href="/about/transfer#flip-designs"') == 1
    assert ">flip design 1</a>" in page
    assert 'id="flip-designs"' in client.get("/about/transfer").text  # where the mark leads

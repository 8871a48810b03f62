"""The two CSV files of a run folder, written as the run goes and read back with repair.

``metrics.csv`` holds one row per iteration (:data:`METRICS_COLUMNS`), appended line by
line while the run trains; ``scores.csv`` one row per evaluation (``--eval-every``,
:data:`SCORE_COLUMNS`), rewritten whole. A resumed run reads each back up to its
checkpoint: the rows of iterations (epochs) after it are dropped, and so is a last line
torn by a kill; a file that is not minigan's is refused, naming the line.
"""

from __future__ import annotations

import csv
import io
import math
import os

from .fileio import read_text_at_most, write_text

__all__ = ["METRICS_COLUMNS", "PENALTY", "SCORE_COLUMNS", "csv_text", "penalty_of", "MetricsLog",
           "RunFileError", "read_scores", "write_scores"]

#: One row per iteration: the losses and D's mean outputs (see minigan.gan.loop.STATS), D's
#: penalty (:data:`PENALTY`) and the seconds of training so far.
METRICS_COLUMNS = ("iteration", "epoch", "d_loss", "g_loss", "d_real", "d_fake", "d_gen",
                   "penalty", "seconds")
#: The columns of a ``metrics.csv`` written before the penalty had one: read back with the
#: penalty blank (not known), and rewritten with the column on the next append.
OLD_METRICS_COLUMNS = tuple(c for c in METRICS_COLUMNS if c != "penalty")
#: What the ``penalty`` column holds: D's penalty at that iteration, from the statistics of
#: :meth:`minigan.gan.GAN.train_iteration` (R1's last value taken, or WGAN-GP's gradient
#: penalty, part of D's loss; a run's settings take one or the other), each with its name in
#: pictures; 0 in a run without one.
PENALTY = {"r1": "R1 penalty", "gradient_penalty": "gradient penalty (in D loss)"}
#: The columns of ``scores.csv`` (``--eval-every``); the scores are minigan.lab.scoring's.
#: ``label_agreement`` is a conditional run's (the share of its digits read as the class
#: asked for), blank for the others.
SCORE_COLUMNS = ("epoch", "iteration", "inception_score", "fid", "classes_covered",
                 "confident_share", "precision", "recall", "density", "coverage",
                 "label_agreement")
#: The columns of a ``scores.csv`` written before label agreement was scored, and before
#: density and coverage were: read with blanks for the scores they lack.
OLD_SCORE_COLUMNS = (SCORE_COLUMNS[:10], SCORE_COLUMNS[:8])
#: The most bytes read of a ``metrics.csv`` are this many for each iteration up to the
#: checkpoint and :data:`ROWS_AFTER` more (a row is about 150; rows after the last checkpoint
#: are at most those of ``trainer.CHECKPOINT_EVERY`` seconds and an epoch): a file larger
#: than that is not this run's.
ROW_BYTES = 512
ROWS_AFTER = 100_000
#: The most bytes read of a ``scores.csv`` (a row per evaluation, about 200 bytes).
MAX_SCORES_BYTES = 16 << 20


class RunFileError(ValueError):
    """A run folder's CSV file that cannot be read as minigan's: ``fact`` says what is wrong
    with it, ``advice`` what to do when it is the file of the run going on (a run continued
    in a new folder only warns with the fact: the old folder's history is a courtesy).
    ``str()`` is both."""

    def __init__(self, fact, advice="move it out of the run folder and try again"):
        super().__init__(f"{fact}; {advice}")
        self.fact, self.advice = fact, advice


def _read_limited(path, limit, what):
    """The text of ``path`` (see :func:`~minigan.app.fileio.read_text_at_most`), or a
    ValueError naming it as ``what`` and saying what to do."""
    try:
        return read_text_at_most(path, limit, errors="replace")
    except ValueError as exc:
        raise RunFileError(f"{path} cannot be read as {what} ({exc})") from None


def _nul_as_replacement(text):
    """``text`` with each NUL read as U+FFFD, as an undecodable byte is, before the csv module
    reads it: Python 3.10's csv refuses a NUL outright (a csv.Error naming no line), 3.11's
    reads it as a character, which no value of these files takes. A line with a NUL is then
    refused the same way, naming it, on each version."""
    return text.replace("\0", "\ufffd")


def penalty_of(stats):
    """The ``penalty`` column's value for one iteration's statistics: its R1 penalty or its
    gradient penalty (:data:`PENALTY`; their sum for a GAN built with both, which the
    settings refuse), else 0."""
    return sum((stats[key] for key in PENALTY if key in stats), 0.0)


def _columns_apart(first_line):
    """How a metrics file's header ``first_line`` differs from :data:`METRICS_COLUMNS` where it
    reads as a header (the columns it adds and lacks), else ``""``: a header cut at 60
    characters in a message hides an extra or missing column at its end."""
    got = first_line.split(",")
    added = [c for c in got if c not in METRICS_COLUMNS]
    lacking = [c for c in METRICS_COLUMNS if c not in got]
    if not (added or lacking) or len(added) > 3:     # the same columns, or no header of them
        return ""
    said = ([f"adds {', '.join(added)}"] if added else []) + \
        ([f"lacks {', '.join(lacking)}"] if lacking else [])
    return f": it {' and '.join(said)}"


def csv_text(columns, rows, header=True):
    """A CSV file's text: the header ``columns`` (unless ``header`` is False), then one line
    per row (a dict)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


class MetricsLog:
    """``metrics.csv`` of a run: the rows so far, and the file open for appending.

    Parameters
    ----------
    path : pathlib.Path
    upto : int
        The iterations of the checkpoint the run continues from (0 for a new run): rows
        after it are dropped, and rows that stop short of it are refused (a gap no later
        resume would accept); a file whose rows all come after it starts over.
    """

    def __init__(self, path, upto=0):
        self.path, self._file = path, None
        self.rows = []          # the rows kept, one dict per iteration
        self._rewrite = True    # written whole from self.rows before appending (see _read)
        if path.exists():
            self._read(int(upto))

    def _read(self, upto):
        path = self.path
        text = _read_limited(path, ROW_BYTES * (upto + ROWS_AFTER), "a minigan metrics file")
        plain = text.removeprefix("\ufeff").replace("\r\n", "\n")   # saved by an editor
        lines = plain.split("\n")
        torn = lines.pop()  # "" after the final newline, else a line cut short
        headers = {",".join(c): c for c in (METRICS_COLUMNS, OLD_METRICS_COLUMNS)}
        columns = headers.get(lines[0]) if lines else METRICS_COLUMNS
        if columns is None:
            raise RunFileError(f"{path} is not a minigan metrics file (its first line is "
                               f"{lines[0][:60]!r}{_columns_apart(lines[0])}, expected "
                               f"{','.join(METRICS_COLUMNS)!r})")
        rows, first = [], None
        try:
            for number, row in enumerate(csv.DictReader(map(_nul_as_replacement, lines[1:]),
                                                        fieldnames=columns), start=2):
                row = {"penalty": "", **row} if columns is OLD_METRICS_COLUMNS else row
                if first is None:   # a run continued elsewhere may start after iteration 1
                    first = _first_iteration(row)
                rows.append(_metrics_row(row, first + len(rows), path, number))
        except csv.Error as exc:
            raise RunFileError(f"{path}, line {len(rows) + 2}: not a metrics row ({exc})") \
                from None
        self.rows = [r for r in rows if int(r["iteration"]) <= upto]
        if self.rows and int(self.rows[-1]["iteration"]) < upto:
            raise RunFileError(
                f"{path} stops at iteration {self.rows[-1]['iteration']}, before the "
                f"checkpoint's {upto}: rows are missing",
                "put the whole file back, or move it out of the run folder (the run then goes "
                "on with a metrics.csv that starts after the checkpoint)")
        self._rewrite = (bool(torn) or not lines or len(self.rows) != len(rows) or plain != text
                         or columns is OLD_METRICS_COLUMNS)

    def carry(self, rows):
        """Start from ``rows``, another run folder's up to the checkpoint a run continues in
        a new folder (its history, so the new folder holds the whole run); written by
        :meth:`open`."""
        self.rows, self._rewrite = list(rows), True

    def open(self):
        """Open the file for appending, first rewriting it from its rows if it was
        missing, damaged or held rows after the checkpoint. Unbuffered: a row that a full
        disk refuses is not kept in a buffer that closing the file would write again."""
        if self._rewrite:
            write_text(self.path, csv_text(METRICS_COLUMNS, self.rows))
        self._file = open(self.path, "ab", buffering=0)

    def append(self, row):
        """Write one iteration's row (a line of its own, straight to the file) and keep it.

        A write that fails (a full disk) may leave the line torn, which the next resume
        drops; the error names the file.
        """
        data = csv_text(METRICS_COLUMNS, [row], header=False).encode()
        try:
            while data:
                data = data[self._file.write(data):]
        except OSError as exc:  # name the file: a failed write of a stream does not
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None
        self.rows.append(row)

    def sync(self):
        """Put the rows written so far on disk (``fsync``): a checkpoint is written after its
        rows, so that after a power cut the file still reaches the checkpoint."""
        if self._file is not None:
            try:
                os.fsync(self._file.fileno())
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(self.path)) from None

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


def _first_iteration(row):
    """The iteration of ``metrics.csv``'s first row: 1 for a whole run, later for a run whose
    history did not all come along; an unreadable one is left to :func:`_metrics_row`."""
    try:
        return max(1, int(row.get("iteration") or 1))
    except (TypeError, ValueError):
        return 1


def _metrics_row(row, expected, path, number):
    """``row`` of ``metrics.csv`` line ``number`` if it is one: the ``expected`` iteration (no
    gap), a positive epoch, finite numbers; else a ValueError naming the file and the line."""
    def refuse(why):
        return RunFileError(f"{path}, line {number}: not a metrics row ({why})")

    if None in row or any(v is None for v in row.values()):
        raise refuse("wrong number of values")
    try:
        iteration, epoch = int(row["iteration"]), int(row["epoch"])
        values = {k: float(row[k]) for k in METRICS_COLUMNS[2:]
                  if not (k == "penalty" and row[k] == "")}     # blank: an older file's
    except ValueError:
        raise refuse("a value that is not a number") from None
    if iteration != expected:
        raise refuse(f"iteration {iteration} where {expected} should follow")
    if epoch < 1 or not all(math.isfinite(v) for v in values.values()):
        raise refuse("an epoch below 1 or a number that is not finite")
    if values["seconds"] < 0:                  # the training time so far
        raise refuse(f"seconds {values['seconds']:g}, a time below 0")
    row["iteration"] = str(iteration)
    return row


def read_scores(path, upto_epoch):
    """The rows of ``scores.csv`` up to ``upto_epoch`` (none when there is no file)."""
    if not path.exists():
        return []
    text = _read_limited(path, MAX_SCORES_BYTES, "a minigan scores file")
    try:
        reader = csv.DictReader(io.StringIO(_nul_as_replacement(text), newline=""))
        rows = list(reader)
    except csv.Error as exc:
        raise RunFileError(f"{path} is not a minigan scores file ({exc})") from None
    if rows and tuple(reader.fieldnames) not in (SCORE_COLUMNS, *OLD_SCORE_COLUMNS):
        raise RunFileError(f"{path} is not a minigan scores file")
    rows = [{**{k: "" for k in SCORE_COLUMNS}, **r} for r in rows]   # an older file: blanks
    kept = []
    for number, row in enumerate(rows, start=2):
        if None in row:                 # more values than columns
            raise RunFileError(f"{path}, line {number}: not a scores row (more values than "
                               "columns)")
        _check_scores_row(row, path, number)   # rewritten whole: no line is ever torn
        if int(row["epoch"]) <= upto_epoch:
            kept.append(row)
    return kept


def _check_scores_row(row, path, number):
    """A ValueError naming ``scores.csv`` line ``number`` unless ``row`` is a scores row: a
    positive epoch and iteration, numbers (or blanks, an older file's) elsewhere; checked
    when the file is read, before a resumed run trains an epoch it could not record."""
    try:
        epoch, iteration = int(row["epoch"]), int(row["iteration"])
        scores = {k: float(row[k]) for k in SCORE_COLUMNS[2:] if row[k] != ""}
    except (TypeError, ValueError):
        epoch = iteration = 0
    if epoch < 1 or iteration < 1:
        raise RunFileError(f"{path}, line {number}: not a scores row (an epoch or iteration "
                           "that is not a positive integer, or a score that is not a number)")
    # nan is a score too (a metric undefined for that draw); none is below 0 (nor IS below 1)
    # by more than rounding (FID of two equal sets: about -1e-12)
    low = [k for k, v in scores.items() if v < (1.0 if k == "inception_score" else 0.0) - 1e-6]
    if low:
        raise RunFileError(f"{path}, line {number}: not a scores row ({low[0]} "
                           f"{scores[low[0]]:g}, below any the lab gives)")


def write_scores(path, rows):
    """Rewrite ``scores.csv`` whole, atomically."""
    write_text(path, csv_text(SCORE_COLUMNS, rows))

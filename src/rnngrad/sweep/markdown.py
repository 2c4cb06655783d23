"""The results table (:func:`rnngrad.sweep.table.results_table`) as Markdown: a table per task.

A cell reads ``solved/runs · median updates``; ``failed`` where no run solved it (the budget ran
out first), ``·`` where nothing has run yet, ``of n`` where fewer seeds than planned have run.
``(P ✓)`` / ``(P ✗)`` is the paper's verdict for that model, and a cell whose majority verdict
differs from it is bold. The papers' entries follow each task's table as numbered notes.
"""

from __future__ import annotations

from typing import Any

from rnngrad.sweep.table import STATUS_MEANINGS


def table_markdown(table: dict[str, Any]) -> str:
    """The whole table as a Markdown document (str, ends with a newline)."""
    lines = [f"# {table['title'] or 'Results'}", ""] + legend_lines(table) + [""]
    tasks = list(dict.fromkeys(row["task"] for row in table["rows"]))
    for task in tasks:
        rows = [row for row in table["rows"] if row["task"] == task]
        lines += [f"## {task}", "", f"Solved: {rows[0]['criterion']}.", ""]
        lines += _budget_lines(rows) + [""]
        header = ["T", "budget", *table["models"], "papers"]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["--:", "--:", *([":-:"] * len(table["models"])), ":--"]) + "|")
        for row in rows:
            papers = " ".join(f"[{entry['ref']}]" for entry in row["published"]) or "–"
            cells = [cell_text(cell, markdown=True) for cell in row["cells"]]
            lines.append("| " + " | ".join([str(row["T"]), budget_text(row["budget"]), *cells, papers]) + " |")
        notes = {entry["ref"]: (row["T"], entry) for row in rows for entry in row["published"]}
        if notes:
            lines.append("")
            lines += [f"[{ref}] {note_text(T, entry)}" + "  " for ref, (T, entry) in sorted(notes.items())]
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def legend_lines(table: dict[str, Any]) -> list[str]:
    """What a cell says, and what each status means (shared with the terminal table)."""
    lines = ["A cell: runs solved / runs done · median updates to solve (over the solved runs); "
             "`·` not run yet; `of n`: n seeds planned, fewer done so far; "
             "(P ✓) / (P ✗): the paper solved / did not solve it; **bold**: our majority verdict differs from the paper's."]
    lines += [f"`{status}`: {meaning}." for status, meaning in STATUS_MEANINGS.items() if status != "solved"]
    if table.get("outside_spec"):
        lines.append(f"{table['outside_spec']} runs in the database are not in this spec and are left out.")
    return [line + "  " for line in lines]


def cell_text(cell: dict[str, Any], markdown: bool = False) -> str:
    """``2/3 · 1,450``, ``0/3 failed``, ``1/1 of 3 · 900`` or ``·``, with the paper's mark."""
    if cell["runs"] == 0:
        text = "·"
    else:
        text = f"{cell['solved']}/{cell['runs']}"
        if cell["planned"] is not None and cell["runs"] < cell["planned"]:
            text += f" of {cell['planned']}"
        text += " " + outcome_text(cell)
        if markdown and cell["agrees"] is False:
            text = f"**{text}**"
    if cell["published"] is not None:
        text += " (P ✓)" if cell["published"] else " (P ✗)"
    return text


def outcome_text(cell: dict[str, Any]) -> str:
    """``· 1,450`` (the median updates of the solved runs), or how the unsolved runs ended."""
    if cell["solved"]:
        return f"· {cell['median_steps']:,.0f}"
    if cell["diverged"] == 0:
        return "failed"
    if cell["failed"] == 0:
        return "diverged"
    return f"failed ({cell['diverged']} diverged)"


def budget_text(budget: dict[str, Any]) -> str:
    """``3,000 × 32``: updates × sequences per update (several, comma-separated, if runs differ)."""
    if not budget["steps"]:
        return "–"
    steps = ", ".join(f"{value:,}" for value in budget["steps"])
    return f"{steps} × {', '.join(str(value) for value in budget['batch_size'])}"


def note_text(T: int, entry: dict[str, Any]) -> str:
    """One paper's entry: source, what it trained, its result, and which of our models agree."""
    text = f"{entry['source']}, T = {T} ({entry['paper_model']}): {entry['result']}."
    verdicts = [f"{label}: {', '.join(entry[key])}" for key, label in
                (("agree", "agree"), ("differ", "differ"), ("pending", "not run yet")) if entry[key]]
    return text + (" Ours — " + "; ".join(verdicts) + "." if verdicts else "")


def _budget_lines(rows: list[dict[str, Any]]) -> list[str]:
    sources = list(dict.fromkeys(row["budget"]["source"] for row in rows if row["budget"]["source"]))
    return [f"Budget (updates × sequences per update): {source}" for source in sources]

"""What makes the notebook checks pass on any CPU: numbers compared within a tolerance, and CPU code paths.

Learners run the course on Intel, AMD and Apple Silicon. NumPy, OpenCV and PyTorch pick SIMD kernels
(SSE, AVX2, AVX-512, NEON) and thread splits at run time, and each rounds its sums in its own order.
Rendering a frame or training a network therefore gives results that differ in the last bits from
one CPU to another, and a short training run or an SVM threshold amplifies them. A notebook cell
whose printed numbers come from such a computation carries, in its metadata (JupyterLab: the property
inspector; the cell's first line stays about the lesson),

    "nbval": {"numbers_within": 0.5, "why": "spread measured across CPU code paths 0.3 (README, Tests)"}

and its check then asks that (a) its text outputs, with every number taken out, are identical to the
stored ones (whitespace runs aside, since a table's columns shift when a number gains a digit), and
(b) every number differs from the stored one by at most the tolerance (absolute, in the printed
unit). Every other cell is compared exactly, as nbval does. Each tolerance is set from the spread
measured across CPU code paths by ``scripts/measure_spread.py``; the README's Tests section has the rule.

A tolerance is for numbers that rendering moves by a little. It may not exceed a tenth of the printed
range, which the metadata can state (``"of": 255``: gray levels) and which is otherwise the largest
number the cell stored (100 in a table of percentages): a tolerance wide enough to pass any result a
reader would call different checks nothing. Numbers that come from *training* on the learner's CPU are
not compared at all. Such a cell carries

    "nbval": {"lessons": true, "why": "the SVM is trained on your CPU (README, Tests)"}

prints its numbers for the reader, and states its lesson with ``fl.lesson(statement, holds)``, one line
``lesson: <statement>: True`` each, with a margin measured over many seeds by
``scripts/measure_lessons.py``; only those lines are compared, word for word.

``CPU_PATHS`` names the code paths CI runs the checks on. ``baseline`` forces every library off its
optimised kernels (PyTorch's default kernels, NumPy without AVX2/AVX-512 dispatch, OpenCV without
its dispatched SIMD and without Intel IPP) and onto one thread, which reproduces a different CPU's
arithmetic on this one. Run a command on a code path with

    python -m tests.portability baseline -- python -m pytest --nbval ...
"""
import math
import os
import re
import sys

MARKERS = ("numbers_within", "of", "lessons", "why")  # the keys of a cell's "nbval" metadata
LESSON_PREFIX = "lesson: "  # what faslearn.utils.lesson prints before a statement
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
WHITESPACE = re.compile(r"[ \t]+")

CPU_PATHS = {
    "native": {},
    "baseline": {
        "ATEN_CPU_CAPABILITY": "default",  # PyTorch: its portable kernels instead of AVX2 / AVX-512
        "NPY_DISABLE_CPU_FEATURES": "X86_V3,X86_V4,AVX512_ICL,AVX512_SPR",  # NumPy: SSE4.2-level loops only
        "OPENCV_CPU_DISABLE": "AVX2,FP16,AVX,SSE4.2,SSE4.1,POPCNT",  # OpenCV: SSE3-level kernels only
        "OPENCV_IPP": "disabled",  # OpenCV: no Intel IPP either
        "OPENCV_LOG_LEVEL": "ERROR",  # (and no warning that IPP is off)
        "OMP_NUM_THREADS": "1",  # one thread: other reduction orders than the default split
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    },
}
# A third arithmetic, for checks beyond `make test`: the baseline kernels on two threads, which changes
# the order of every parallel sum (OpenBLAS's settings are left as the machine has them).
CPU_PATHS["baseline_2threads"] = {**{k: v for k, v in CPU_PATHS["baseline"].items() if k != "OPENBLAS_NUM_THREADS"},
                                  "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}


def markers(metadata) -> dict:
    """A cell's ``"nbval"`` metadata, checked: only ``MARKERS`` keys, a positive finite tolerance."""
    found = dict(metadata.get("nbval", {}))
    unknown = sorted(set(found) - set(MARKERS))
    if unknown:
        raise ValueError(f"unknown nbval metadata key(s) {unknown}; expected some of {list(MARKERS)}")
    for key in ("numbers_within", "of"):
        value = found.get(key)
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                      and value > 0 and math.isfinite(value)):
            raise ValueError(f"nbval {key} expects a positive number, got {value!r}")
    return found


def tolerance(metadata) -> float | None:
    """The tolerance a cell's metadata declares (``"nbval": {"numbers_within": x}``), or None (exact check)."""
    value = markers(metadata).get("numbers_within")
    return None if value is None else float(value)


def declared_range(metadata) -> float | None:
    """The printed range a cell's metadata states (``"nbval": {..., "of": R}``), or None."""
    value = markers(metadata).get("of")
    return None if value is None else float(value)


def ignores_output(metadata) -> bool:
    """Whether nbval leaves a cell's outputs alone (the tags ``nbval-ignore-output`` or ``nbval-skip``)."""
    return bool({"nbval-ignore-output", "nbval-skip"} & set(metadata.get("tags", [])))


def tolerance_refusal(metadata, stored_outputs) -> str | None:
    """Why a cell's tolerance is too wide to check anything, or None if it is within a tenth of its range."""
    limit = tolerance(metadata)
    if limit is None:
        return None
    scale = declared_range(metadata)
    if scale is None:
        numbers = []
        for output_slot in text_slots(stored_outputs):
            numbers += [abs(n) for n in split_numbers(read_slot(stored_outputs, output_slot))[1]]
        scale = max(numbers, default=0.0)
    if limit <= scale / 10:
        return None
    return (f"nbval numbers_within {limit:g} is more than a tenth of the printed range {scale:g}: a tolerance that "
            "wide checks nothing. Numbers from training on the learner's CPU are not compared digit by digit: "
            "give the cell \"nbval\": {\"lessons\": true} and state its lesson with fl.lesson (README, Tests)")


def is_lesson_cell(metadata) -> bool:
    """Whether a cell's metadata says ``"nbval": {"lessons": true}`` (only its ``lesson: ...`` lines are compared)."""
    return markers(metadata).get("lessons") is True


def lesson_lines(outputs) -> list[str]:
    """The ``lesson: ...`` lines of a cell's compared text outputs, in order."""
    outputs = coalesce_streams(outputs)
    return [line.rstrip() for slot in text_slots(outputs) for line in read_slot(outputs, slot).splitlines()
            if line.startswith(LESSON_PREFIX)]


def split_numbers(text: str) -> tuple[str, list[float]]:
    """(the text with every number replaced by '#' and spaces folded, the numbers in order)."""
    numbers = [float(n) for n in NUMBER.findall(text)]
    return WHITESPACE.sub(" ", NUMBER.sub("#", text)), numbers


def largest_difference(stored: str, new: str) -> float:
    """Largest |stored number - new number| of two texts; inf when the texts differ otherwise."""
    stored_text, stored_numbers = split_numbers(stored)
    new_text, new_numbers = split_numbers(new)
    if stored_text != new_text:  # (equal texts hold the same count of numbers)
        return math.inf
    return max((abs(a - b) for a, b in zip(stored_numbers, new_numbers)), default=0.0)


def text_slots(outputs) -> list[tuple[int, str]]:
    """The compared texts of a cell's outputs, in order: (output index, key) of stdout and text/plain.

    stderr is left out, as the notebook checks leave it out (tests/conftest.py, NOT_COMPARED).
    """
    slots = []
    for index, output in enumerate(outputs):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            slots.append((index, "text"))
        elif "text/plain" in output.get("data", {}):
            slots.append((index, "text/plain"))
    return slots


def read_slot(outputs, slot) -> str:
    index, key = slot
    value = outputs[index]["text"] if key == "text" else outputs[index]["data"][key]
    return "".join(value) if isinstance(value, list) else value


def write_slot(outputs, slot, text: str) -> None:
    index, key = slot
    if key == "text":
        outputs[index]["text"] = text
    else:
        outputs[index]["data"][key] = text


def coalesce_streams(outputs) -> list[dict]:
    """Each stream's texts joined at its first appearance, as nbval joins them before comparing."""
    merged, streams = [], {}
    for output in outputs:
        if output.get("output_type") == "stream":
            text = read_slot([output], (0, "text"))
            if output["name"] in streams:
                streams[output["name"]]["text"] += text
                continue
            output = streams[output["name"]] = {**output, "text": text}
        merged.append(output)
    return merged


def outputs_difference(stored_outputs, new_outputs, clean=lambda s: s) -> float:
    """Largest number difference over all text outputs of a cell (inf if their structure differs).

    ``clean`` is applied to each text first (nbval's sanitizer, so timings and addresses drop out).
    """
    stored_outputs, new_outputs = coalesce_streams(stored_outputs), coalesce_streams(new_outputs)
    stored_slots, new_slots = text_slots(stored_outputs), text_slots(new_outputs)
    if [k for _, k in stored_slots] != [k for _, k in new_slots]:
        return math.inf
    return max((largest_difference(clean(read_slot(stored_outputs, a)), clean(read_slot(new_outputs, b)))
                for a, b in zip(stored_slots, new_slots)), default=0.0)


def main(argv: list[str]) -> int:
    """``python -m tests.portability PATH -- command ...``: run the command on CPU code path PATH."""
    if len(argv) < 3 or argv[1] != "--" or argv[0] not in CPU_PATHS:
        print(f"usage: python -m tests.portability {{{','.join(CPU_PATHS)}}} -- command [args...]", file=sys.stderr)
        return 2
    os.environ.update(CPU_PATHS[argv[0]])
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

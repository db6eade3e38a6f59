"""Load, validate and query the evidence base (one YAML file per study).

``load_evidence_base()`` reads the packaged ``data/`` directory once per process
(the decision engine asks for it on every assessment) and refuses a broken base
with every problem listed. ``validate_evidence(path)`` reports every broken
record of a directory without raising, for curators and CI.

The snapshot identifier ``EVIDENCE_SERIES + "-" + sha256[:12]`` is computed over
the sorted YAML files (name and bytes), so any edit, addition, removal or rename
of a record gives a new identifier; assessments and reports record it.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from locoreg.errors import pydantic_errors
from locoreg.evidence.model import (
    Design,
    GradeRating,
    Outcome,
    OutcomeKind,
    Study,
)

#: Release series of the evidence base; bump when the curated content is revised.
EVIDENCE_SERIES = "2026.11"
DATA_DIR = Path(__file__).parent / "data"
GRADE_FILE = "_grade.yaml"

# libyaml parses the ~50 records several times faster than the pure-Python loader.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class ValidationProblem:
    """One problem of one record: ``file: field: message``."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field or '-'}: {self.message}"


class EvidenceError(ValueError):
    """The evidence base is broken; carries every problem found."""

    def __init__(self, problems: Iterable[ValidationProblem]):
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"the evidence base has {len(self.problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class EvidenceBase:
    """All studies and GRADE ratings of one snapshot, with query helpers."""

    studies: tuple[Study, ...]
    grade: tuple[GradeRating, ...]
    snapshot: str
    path: Path
    _by_id: dict[str, Study] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {s.id: s for s in self.studies})

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.studies)

    def __len__(self) -> int:
        return len(self.studies)

    def __contains__(self, study_id: object) -> bool:
        return study_id in self._by_id

    def get(self, study_id: str) -> Study:
        """The study with this id; ``KeyError`` naming close matches otherwise."""
        try:
            return self._by_id[study_id]
        except KeyError:
            close = self.close_matches(study_id)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise KeyError(f"no study {study_id!r} in the evidence base{hint}") from None

    def close_matches(self, study_id: str, n: int = 3) -> list[str]:
        """Known ids that look like ``study_id`` (typos, missing year, prefixes)."""
        ids = list(self._by_id)
        found = difflib.get_close_matches(study_id.lower(), ids, n=n, cutoff=0.6)
        prefixed = [i for i in ids if study_id and i.startswith(study_id.lower())]
        return list(dict.fromkeys(found + prefixed))[:n]

    def by_design(self, *designs: Design | str) -> tuple[Study, ...]:
        wanted = {Design(d) for d in designs}
        return tuple(s for s in self.studies if s.design in wanted)

    def outcomes(
        self,
        outcome: OutcomeKind | str | None = None,
        subgroup: str | None = "overall",
        *,
        design: Design | str | Iterable[Design | str] | None = None,
        measure: str | None = None,
        include_secondary: bool = False,
        include_superseded: bool = False,
    ) -> list[tuple[Study, Outcome]]:
        """(study, outcome) pairs matching every filter given; ``None`` means any.

        So that no trial is counted twice, two kinds of repeats are left out unless asked
        for: secondary reports (the same analysis printed again in another report of the
        study, ``include_secondary``), and results of a superseded report when a later
        report of the same trial (``superseded_by``, followed to the end) gives the same
        outcome and subgroup (``include_superseded``). MF07-01's overall survival thus
        comes from soran2021 only, while its subgroups from soran2018 remain.
        """
        kind = OutcomeKind(outcome) if outcome is not None else None
        if design is None:
            designs = None
        elif isinstance(design, str):
            designs = {Design(design)}
        else:
            designs = {Design(d) for d in design}
        return [
            (s, o)
            for s in self.studies
            if designs is None or s.design in designs
            for o in s.outcomes
            if (kind is None or o.outcome is kind)
            and (subgroup is None or o.subgroup == subgroup)
            and (measure is None or o.measure == measure)
            and (include_secondary or o.secondary_report is None)
            and (include_superseded or not self._superseded(s, o))
        ]

    def _superseded(self, study: Study, outcome: Outcome) -> bool:
        """A later report of the same trial gives this outcome and subgroup with numbers."""
        later = study.superseded_by
        seen = {study.id}
        while later is not None and later not in seen and later in self._by_id:
            seen.add(later)
            newer = self._by_id[later]
            if any(
                o.outcome is outcome.outcome and o.subgroup == outcome.subgroup and o.has_numbers
                for o in newer.outcomes
            ):
                return True
            later = newer.superseded_by
        return False

    def grade_for(
        self, outcome: OutcomeKind | str, body: str | None = None
    ) -> tuple[GradeRating, ...]:
        """GRADE ratings for an outcome (optionally only ``randomised`` or ``observational``)."""
        kind = OutcomeKind(outcome)
        return tuple(
            g for g in self.grade if g.outcome is kind and (body is None or g.body == body)
        )

    def cite(self, study_id: str) -> str:
        return self.get(study_id).cite()

    def url(self, study_id: str) -> str | None:
        return self.get(study_id).url()


def snapshot_id(path: Path) -> str:
    """``EVIDENCE_SERIES-<12 hex>``: sha256 over the sorted YAML files' names and bytes."""
    digest = hashlib.sha256()
    for file in sorted(path.glob("*.yaml")):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return f"{EVIDENCE_SERIES}-{digest.hexdigest()[:12]}"


def _pydantic_problems(file: str, exc: ValidationError) -> list[ValidationProblem]:
    """The one pydantic translator (:func:`locoreg.errors.pydantic_errors`), per file; a
    model check that reports several fields at once (``ctx["problems"]``) is expanded."""
    out: list[ValidationProblem] = []
    for err in exc.errors(include_url=False):
        ctx = err.get("ctx") or {}
        if "problems" in ctx:
            loc = ".".join(str(part) for part in err.get("loc", ()))
            for name, message in ctx["problems"]:
                out.append(ValidationProblem(file, f"{loc}.{name}" if loc else name, message))
            continue
        out += [ValidationProblem(file, e.field, e.message) for e in pydantic_errors([err])]
    return out


def _read_yaml(file: Path) -> tuple[Any, list[ValidationProblem]]:
    try:
        return yaml.load(file.read_bytes(), Loader=_Loader), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [ValidationProblem(file.name, where, f"YAML syntax error: {reason}")]


def _parse(
    path: Path,
) -> tuple[list[Study], list[GradeRating], list[ValidationProblem]]:
    studies: list[Study] = []
    grade: list[GradeRating] = []
    problems: list[ValidationProblem] = []
    seen: dict[str, str] = {}
    # ids of records refused above: references to them are not reported a second time
    broken: set[str] = set()
    for stray in sorted(path.glob("*.yml")):
        # silently skipping a record would drop a study from every analysis unnoticed
        problems.append(
            ValidationProblem(stray.name, "", "not read: records must end in .yaml, not .yml")
        )
    for file in sorted(path.glob("*.yaml")):
        data, errs = _read_yaml(file)
        problems += errs
        if errs:
            broken.add(file.stem)
            continue
        if file.name == GRADE_FILE:
            if not isinstance(data, list):
                problems.append(ValidationProblem(file.name, "", "expected a list of ratings"))
                continue
            for i, item in enumerate(data):
                try:
                    grade.append(GradeRating.model_validate(item))
                except ValidationError as exc:
                    problems += [
                        ValidationProblem(p.file, f"{i}.{p.field}".rstrip("."), p.message)
                        for p in _pydantic_problems(file.name, exc)
                    ]
            continue
        if not isinstance(data, dict):
            problems.append(ValidationProblem(file.name, "", "expected a mapping (one study)"))
            broken.add(file.stem)
            continue
        try:
            study = Study.model_validate(data)
        except ValidationError as exc:
            problems += _pydantic_problems(file.name, exc)
            broken.update({file.stem, str(data.get("id", file.stem))})
            continue
        if study.id != file.stem:
            problems.append(
                ValidationProblem(file.name, "id", f"id {study.id!r} does not match the file name")
            )
        if study.id in seen:
            problems.append(
                ValidationProblem(file.name, "id", f"duplicate id, also in {seen[study.id]}")
            )
            continue
        seen[study.id] = file.name
        studies.append(study)
    problems += _cross_reference_problems(studies, grade, frozenset(broken))
    return studies, grade, problems


def _cross_reference_problems(
    studies: list[Study], grade: list[GradeRating], broken: frozenset[str] = frozenset()
) -> list[ValidationProblem]:
    """Ids named inside records (cited_in, related, GRADE studies) must exist.

    An id whose record was refused (``broken``) counts as known: its own problems are
    reported once, at that record, instead of as "unknown id" at every record naming it.
    """
    ids = {s.id for s in studies} | broken
    out: list[ValidationProblem] = []
    by_id = {s.id: s for s in studies}
    for s in studies:
        for name in ("cited_in", "related"):
            for ref in getattr(s, name):
                if ref not in ids:
                    out.append(ValidationProblem(f"{s.id}.yaml", name, f"unknown study id {ref!r}"))
        chain, later = [s.id], s.superseded_by
        while later is not None:
            if later in broken:
                break
            if later not in by_id:
                out.append(
                    ValidationProblem(f"{s.id}.yaml", "superseded_by", f"unknown id {later!r}")
                )
                break
            if later in chain:
                cycle = " -> ".join([*chain, later])
                out.append(ValidationProblem(f"{s.id}.yaml", "superseded_by", f"cycle {cycle}"))
                break
            chain.append(later)
            later = by_id[later].superseded_by
    for i, g in enumerate(grade):
        for ref in (*g.studies, g.rated_by):
            if ref != "locoreg" and ref not in ids:
                out.append(ValidationProblem(GRADE_FILE, f"{i}.studies", f"unknown id {ref!r}"))
    return out


def validate_evidence(path: Path | str | None = None) -> list[ValidationProblem]:
    """Every problem of every record in ``path`` (default: the packaged base).

    ``FileNotFoundError``/``NotADirectoryError`` when ``path`` is not a directory.
    """
    directory = Path(path) if path is not None else DATA_DIR
    _require_dir(directory)
    return _parse(directory)[2]


def _require_dir(directory: Path) -> None:
    if not directory.exists():
        raise FileNotFoundError(f"evidence directory not found: {directory}")
    if not directory.is_dir():
        raise NotADirectoryError(f"not a directory: {directory}")


def _load(directory: Path) -> EvidenceBase:
    _require_dir(directory)
    studies, grade, problems = _parse(directory)
    if problems:
        raise EvidenceError(problems)
    return EvidenceBase(
        studies=tuple(studies),
        grade=tuple(grade),
        snapshot=snapshot_id(directory),
        path=directory,
    )


@cache
def _packaged() -> EvidenceBase:
    return _load(DATA_DIR)


# The base that ``load_evidence_base()`` returns inside ``using_evidence_base``; None: the
# packaged one. A context variable, so threads and async requests never see another's.
_ACTIVE: ContextVar[EvidenceBase | None] = ContextVar("locoreg_evidence_base", default=None)


def load_evidence_base(path: Path | None = None) -> EvidenceBase:
    """The evidence base in ``path``; by default the active one (see
    :func:`using_evidence_base`), else the packaged one (parsed once, cached).

    Raises :class:`EvidenceError` listing every problem when a record is broken.
    """
    if path is not None:
        return _load(Path(path))
    active = _ACTIVE.get()
    return active if active is not None else _packaged()


@contextmanager
def using_evidence_base(base: EvidenceBase | Path | str) -> Iterator[EvidenceBase]:
    """Make ``base`` (or the base in that directory) the default within the block.

    Everything that calls ``load_evidence_base()`` without a path — the decision engine's
    snapshot id and its quoted pooled figures, ``pool_by_design()`` — then reads ``base``:
    ``locoreg evidence diff`` re-assesses the example patients against two bases this way.
    Code must therefore not cache figures derived from the base across calls unless the
    cache is keyed on ``base.snapshot``.
    """
    chosen = base if isinstance(base, EvidenceBase) else _load(Path(base))
    token = _ACTIVE.set(chosen)
    try:
        yield chosen
    finally:
        _ACTIVE.reset(token)


def cite(study_id: str) -> str:
    """Short citation of a packaged study: ``cite("badwe2015") == "Badwe 2015, Lancet Oncol"``."""
    return load_evidence_base().cite(study_id)


def url(study_id: str) -> str | None:
    """Link to a packaged study (its URL, DOI, PubMed or first source)."""
    return load_evidence_base().url(study_id)

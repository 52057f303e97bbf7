"""Check one rule file end to end: YAML, schema, expressions, lints -> Program + Diagnostics."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rulesengine.check import lints, suppressions
from rulesengine.check.account import check_account, check_schedules
from rulesengine.check.bar_calls import default_timeframe, indicator
from rulesengine.check.diagnostics import CODES, Diagnostic
from rulesengine.check.exits import check_exits
from rulesengine.check.expressions import Context, LetInfo, check
from rulesengine.check.legs import check_expiry_section, check_legs
from rulesengine.check.names import Scope
from rulesengine.check.program import Checked, Program, Source
from rulesengine.check.scopes import ALL_SCOPES, STRUCTURE_SCOPES
from rulesengine.check.sections import check_sections
from rulesengine.check.timeframes import DAILY
from rulesengine.check.types import BOOL, RATIO, Kind, Type
from rulesengine.check.universe import read_universe
from rulesengine.check.validation import report_validation
from rulesengine.language import ast, yaml_source
from rulesengine.language.errors import SourceError
from rulesengine.language.model import RuleFile
from rulesengine.language.parser import parse

MAX_FILE_BYTES = 256_000  # real rule files are a few KB; this bounds any check to ~2 s


class Reporter:
    """Reports one expression's diagnostics; remembers the spans that had errors (`broken`),
    so lints do not repeat a type error as noise."""

    def __init__(self, result: CheckResult, source: Source):
        self.result, self.source = result, source
        self.broken: tuple[ast.Span, ...] = ()

    def __call__(self, code: str, message: str, span: ast.Span, hint: str | None) -> None:
        if not code.startswith("W"):
            self.broken += (span,)
        self.result.add(code, message, self.source.location(span), hint)


class CheckResult:
    def __init__(self, file: str, text: str, lines: yaml_source.LineIndex | None):
        self.file, self.text, self.lines = file, text, lines
        self.diagnostics: list[Diagnostic] = []
        self.suppressed: list[Diagnostic] = []  # warnings accepted by `# rules: allow`
        self._seen: set[Diagnostic] = set()  # the same diagnostic is reported once
        self.allowed = suppressions.scan(text)
        self.program: Program | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    def add(
        self, code: str, message: str, location: tuple[int, int, int, int], hint: str | None = None
    ) -> None:
        severity = "warning" if code.startswith("W") else "error"
        line, col, end_line, end_col = location
        diagnostic = Diagnostic(
            code, severity, message, self.file, line, col, end_line, end_col, hint
        )
        if diagnostic in self._seen:
            return
        self._seen.add(diagnostic)
        if severity == "warning" and self.allowed.allows(code, line, end_line):
            self.suppressed.append(replace(diagnostic, suppressed=True))
        else:
            self.diagnostics.append(diagnostic)

    def check_suppressions(self) -> None:
        """W306 for an allow comment naming an error or a code that does not exist."""
        for line, col, code in self.allowed.comments:
            if code not in CODES:
                why = f"`# rules: allow {code}`: no diagnostic has the code {code}"
            elif not code.startswith("W"):
                why = f"`# rules: allow {code}`: errors can't be allowed (the file can't run)"
            else:
                continue
            self.add("W306", why, (line, col, line, col + len(code)), "allow a W-code")


def check_file(path: str | Path, display: str | None = None) -> CheckResult:
    """Read and check one file; unreadable files become an E002 diagnostic."""
    name = display or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        result = CheckResult(name, "", None)
        result.add(
            "E002",
            f"can't read the file: {error.strerror or error}",
            (1, 1, 1, 1),
            "check the path and permissions",
        )
        return result
    if len(raw) > MAX_FILE_BYTES:
        result = CheckResult(name, "", None)
        result.add(
            "E002",
            f"file is {len(raw)} bytes; rule files are limited to {MAX_FILE_BYTES}",
            (1, 1, 1, 1),
        )
        return result
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        result = CheckResult(name, "", None)
        result.add(
            "E002", f"file is not UTF-8 text (byte {error.start})", (1, 1, 1, 1), "save it as UTF-8"
        )
        return result
    return check_text(text, name)


def check_text(text: str, file: str = "<rules>") -> CheckResult:
    """Check rule text; never raises for any input."""
    return _FileChecker(text, file).run()


class _FileChecker:
    def __init__(self, text: str, file: str):
        self.text = text.lstrip("\ufeff")
        self.lines = yaml_source.LineIndex(self.text)
        self.result = CheckResult(file, self.text, self.lines)
        self.file = file
        self.used_lets: set[str] = set()
        self.broken_lets: frozenset[str] = frozenset()
        self.bars = DAILY  # the file's default timeframe, once `bars:` is read

    # ---------------------------------------------------------------- plumbing
    def at_offsets(self, start: int, end: int) -> tuple[int, int, int, int]:
        a, b = self.lines.position(start), self.lines.position(max(end, start + 1))
        return a.line, a.col, b.line, b.col

    def at_node(self, node: yaml_source.YNode | None) -> tuple[int, int, int, int]:
        if node is None:  # a key the file does not have: point at its start
            return 1, 1, 1, 1
        end = node.end
        if node.kind == "scalar" and node.offsets:
            end = node.offsets[-1]
        return self.at_offsets(node.start, end)

    def reporter(self, source: Source) -> Reporter:
        return Reporter(self.result, source)

    def source(self, node: yaml_source.YNode | None) -> Source:
        text = "" if node is None or node.value is None else _scalar_text(node.value)
        return Source(self.file, text, node, self.lines)

    def parse(self, source: Source, start: str) -> ast.Node | None:
        try:
            return parse(source.text, start)
        except SourceError as error:
            self.reporter(source)(error.code, error.message, error.span, error.hint)
            return None

    # ---------------------------------------------------------------- driver
    def run(self) -> CheckResult:
        try:
            self._run()
        except RecursionError:
            self.result.add(
                "E303", "rule file is nested too deeply to check", (1, 1, 1, 1), "simplify it"
            )
        except Exception as error:  # a checker bug must not hide this file or any other
            self.result.add(
                "E000",
                f"internal error while checking this file ({type(error).__name__}: {error})",
                (1, 1, 1, 1),
                "please report it with the file; the other files are checked as usual",
            )
        self.result.check_suppressions()
        self.result.diagnostics.sort(key=lambda d: (d.line, d.col, d.code))
        return self.result

    def _run(self) -> None:
        try:
            document = yaml_source.load(self.text)
        except SourceError as error:
            self.result.add(error.code, error.message, self.at_offsets(*error.span), error.hint)
            return
        root = document.root
        if root is None or root.kind != "map":
            where = self.at_node(root) if root is not None else (1, 1, 1, 1)
            self.result.add(
                "E011",
                "a rule file is a YAML mapping of sections",
                where,
                "start with `strategy: my_strategy`",
            )
            return
        for key, node in document.duplicates:
            self.result.add(
                "E012",
                f"duplicate key '{key}': the later one would silently win",
                self.at_node(node),
                "remove or rename one of them",
            )
        model = self.validate(root)
        if model is None:
            return
        program = self.build(model, root)
        if program is not None and not self.result.errors:
            self.result.program = program
        self.result.diagnostics.sort(key=lambda d: (d.line, d.col, d.code))

    # ---------------------------------------------------------------- schema
    def validate(self, root: yaml_source.YNode) -> RuleFile | None:
        data = root.to_python()
        if not all(isinstance(k, str) for k in data):
            bad = next(k for k in root.pairs if not isinstance(k[0].value, str))
            self.result.add("E011", "section names must be text", self.at_node(bad[0]))
            return None
        for _ in range(len(data) + 1):
            try:
                return RuleFile.model_validate(data)
            except ValidationError as error:
                broken = report_validation(error, root, self.result.add, self.at_node)
                data = {k: v for k, v in data.items() if k not in broken}
        return None

    # ---------------------------------------------------------------- program
    def build(self, model: RuleFile, root: yaml_source.YNode) -> Program | None:
        if bool(model.strategy) == bool(model.portfolio):
            message = (
                "a file names either a `strategy:` or a `portfolio:`"
                if model.strategy
                else "missing `strategy:` (or `portfolio:` for a risk file)"
            )
            self.result.add(
                "E011",
                message,
                self.at_node(
                    root.key_node("portfolio") or (root.pairs[0][0] if root.pairs else root)
                ),
                "add `strategy: my_strategy` at the top",
            )
            return None
        kind = "strategy" if model.strategy else "portfolio"
        if kind == "strategy" and not model.legs:
            self.result.add(
                "E011",
                "a strategy needs `legs`",
                self.at_node(root.key_node("strategy")),
                "e.g. `legs: {short: put where delta > -0.3}`",
            )
        if kind == "portfolio" and (model.legs or model.entry):
            self.result.add(
                "E011",
                "a portfolio file holds limits and breakers, not legs or entries",
                self.at_node(root.key_node("legs") or root.key_node("entry")),
            )
        program = Program(
            self.file,
            self.text,
            model.strategy or model.portfolio or "",
            kind,
            model.description or "",
        )
        program.universe, program.universe_label = read_universe(
            model.universe,
            self.file,
            lambda message, hint: self.result.add(
                "E011", message, self.at_node(root.get("universe")), hint
            ),
        )
        self.bars = program.bars = default_timeframe(
            model.bars,
            lambda message: self.result.add("E111", message, self.at_node(root.get("bars"))),
        )
        lets = self.check_lets(model, root, program)
        leg_names = tuple(model.legs)
        if model.expiry is not None:
            check_expiry_section(self, root, program, lets)
        check_legs(self, model, root, program, lets, leg_names)
        self.check_lists(model, root, program, lets, leg_names)
        check_exits(self, model, root, program, lets)
        check_account(self, model, root, program, lets)
        check_sections(model, program, self.result, root, self.at_node)
        check_schedules(self, model, root, program)
        for name in lets:
            if name not in self.used_lets:
                section = root.get("let")
                key = section.key_node(name) if section is not None else None
                self.result.add(
                    "W305",
                    f"`let` '{name}' is never used",
                    self.at_node(key),
                    "remove it, or use it in a condition",
                )
        return program

    def checked(self, node, start, ctx, label, want: Type | None, leg_kind=None) -> Checked | None:
        source = self.source(node)
        tree = self.parse(source, start)
        if tree is None:
            return None
        report = self.reporter(source)
        body = tree.condition if isinstance(tree, ast.Breaker | ast.ExitRule) else tree
        if body is None:
            return None  # a breaker without a condition: the parser reported it
        resolved, typ = check(body, ctx, report)
        self.used_lets |= ctx.used_lets
        if typ is None:
            lints.lint_condition(resolved, report, source.text, leg_kind, report.broken)
            return None
        if want is BOOL and typ.kind is not Kind.BOOL:
            report(
                "E202",
                f"{ctx.section} must be true or false, but this is a {typ}",
                body.span,
                "compare it, e.g. `credit >= $0.50`",
            )
            return None
        if want is not None and want is not BOOL and not _fits(typ, want):
            report("E201", f"{ctx.section} must be {want}, but this is {typ}", body.span, None)
            return None
        if typ.kind is Kind.BOOL:
            lints.lint_condition(resolved, report, source.text, leg_kind)
        if isinstance(tree, ast.Breaker | ast.ExitRule):
            resolved = replace(tree, condition=resolved)
        return Checked(resolved, typ, source.text, source, label)

    def context(self, section, scopes, lets, legs=(), all_legs=()) -> Context:
        return Context(
            section,
            scopes,
            tuple(legs),
            tuple(all_legs),
            lets,
            broken_lets=self.broken_lets,
            bars=self.bars,
        )

    def check_lets(self, model: RuleFile, root, program: Program) -> dict[str, LetInfo]:
        section = root.get("let")
        parsed: dict[str, tuple[ast.Node, Source]] = {}
        for name in model.let:
            source = self.source(section.get(name))
            tree = self.parse(source, "expr")
            if tree is not None:
                parsed[name] = (tree, source)
        order, cyclic = _let_order({n: tree for n, (tree, _) in parsed.items()})
        for name in cyclic:
            self.result.add(
                "E108",
                f"`let` '{name}' refers to itself through {' -> '.join(cyclic[name])}",
                self.at_node(section.key_node(name)),
                "break the cycle",
            )
        infos: dict[str, LetInfo] = {}
        for name in order:
            tree, source = parsed[name]
            ctx = self.context(f"`let` {name}", ALL_SCOPES, dict(infos), (), tuple(model.legs))
            resolved, typ = check(tree, ctx, self.reporter(source))
            self.used_lets |= ctx.used_lets
            if typ is None:
                continue
            if typ.kind is Kind.BOOL:
                lints.lint_condition(resolved, self.reporter(source), source.text)
            if (
                Scope.POSITION in ctx.used_scopes
                and len(ctx.used_scopes - {Scope.UNDERLYING, Scope.PORTFOLIO}) > 1
            ):
                self.result.add(
                    "E107",
                    f"`let` '{name}' mixes {' and '.join(sorted(ctx.used_scopes))} fields",
                    source.location(tree.span),
                    None,
                )
                continue
            infos[name] = LetInfo(
                typ.plain(), frozenset(ctx.used_scopes), ctx.used_neutral, indicator(resolved)
            )
            program.lets[name] = Checked(resolved, typ.plain(), source.text, source, f"let.{name}")
        self.broken_lets = frozenset(set(model.let) - set(infos))
        return infos

    def check_lists(self, model, root, program, lets, leg_names) -> None:
        for i, node in enumerate(root.get("underlying").items if model.underlying else ()):
            ctx = self.context(
                "underlying conditions",
                frozenset({Scope.UNDERLYING, Scope.PORTFOLIO}),
                lets,
                (),
                leg_names,
            )
            checked = self.checked(node, "expr", ctx, f"underlying[{i + 1}]", BOOL)
            if checked:
                program.underlying.append(checked)
        for i, node in enumerate(root.get("entry").items if model.entry else ()):
            ctx = self.context("entry conditions", STRUCTURE_SCOPES, lets, leg_names, leg_names)
            checked = self.checked(node, "expr", ctx, f"entry[{i + 1}]", BOOL)
            if checked:
                program.entry.append(checked)
        if model.rank is not None:
            ctx = self.context("rank", STRUCTURE_SCOPES, lets, leg_names, leg_names)
            program.rank = self.checked(root.get("rank"), "expr", ctx, "rank", Type(Kind.NUMBER))


# ---------------------------------------------------------------- helpers
def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fits(actual: Type, want: Type) -> bool:
    if want.kind is Kind.NUMBER:
        return actual.kind in RATIO or actual.kind is Kind.MONEY
    if actual.literal:
        return True
    return actual.kind == want.kind or {actual.kind, want.kind} <= RATIO


def _let_order(trees: dict[str, ast.Node]) -> tuple[list[str], dict[str, list[str]]]:
    """Lets in dependency order, plus the cycle found for each let caught in one."""
    deps = {
        name: [n.name for n in ast.walk(tree) if isinstance(n, ast.Name) and n.name in trees]
        for name, tree in trees.items()
    }
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cyclic: dict[str, list[str]] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            for member in cycle[:-1]:
                cyclic.setdefault(member, cycle)
            return
        state[name] = 1
        for dep in deps[name]:
            visit(dep, [*path, name])
        state[name] = 2
        if name not in cyclic:
            order.append(name)

    for name in trees:
        visit(name, [])
    return [n for n in order if n not in cyclic and not any(d in cyclic for d in deps[n])], cyclic

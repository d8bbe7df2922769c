"""The public analytics API carries numpydoc docstrings: at least 90 % of its functions,
methods and classes have the sections they need, and every model names its papers.

Public = a module-level function or class of xlvalue/analytics/** whose name does not start
with an underscore, and the public methods of public classes. Needed sections:
- a function or method: "Parameters" when it takes arguments (besides self/cls), "Returns"
  (or "Yields") when it returns a value; a property needs a docstring only;
- a class with fields or constructor arguments: "Parameters" or "Attributes".
"""

from __future__ import annotations

import ast
from pathlib import Path

import xlvalue.analytics

ANALYTICS = Path(xlvalue.analytics.__file__).parent
SHARE_REQUIRED = 0.90


def _is_property(fn: ast.FunctionDef) -> bool:
    for d in fn.decorator_list:
        name = d.id if isinstance(d, ast.Name) else d.attr if isinstance(d, ast.Attribute) else ""
        if name in ("property", "cached_property", "setter"):
            return True
    return False


def _arguments(fn: ast.FunctionDef) -> list[str]:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return [n for n in names if n not in ("self", "cls")]


def _returns_value(fn: ast.FunctionDef) -> bool:
    if fn.returns is not None:
        return not (isinstance(fn.returns, ast.Constant) and fn.returns.value is None)
    return any(isinstance(n, ast.Return) and n.value is not None
               or isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(fn))


def _has(doc: str, section: str) -> bool:
    return f"{section}\n{'-' * len(section)}" in doc


def missing_sections(node: ast.FunctionDef | ast.ClassDef) -> list[str]:
    """What the node's docstring lacks (empty when complete)."""
    doc = ast.get_docstring(node)
    if not doc:
        return ["docstring"]
    if isinstance(node, ast.ClassDef):
        fields = [s for s in node.body if isinstance(s, ast.AnnAssign)
                  and "ClassVar" not in ast.unparse(s.annotation)]
        init = [s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"]
        needs = bool(fields) or bool(init and _arguments(init[0]))
        return ["Parameters or Attributes"] if needs and not (
            _has(doc, "Parameters") or _has(doc, "Attributes")) else []
    if _is_property(node):
        return []
    out = []
    if _arguments(node) and not _has(doc, "Parameters"):
        out.append("Parameters")
    if _returns_value(node) and not (_has(doc, "Returns") or _has(doc, "Yields")):
        out.append("Returns")
    return out


def public_api() -> list[tuple[str, ast.FunctionDef | ast.ClassDef]]:
    """(qualified name, node) of every public function, class and method of the analytics."""
    found = []
    for path in sorted(ANALYTICS.rglob("*.py")):
        module = ".".join(path.relative_to(ANALYTICS.parent.parent).with_suffix("").parts)
        if any(part.startswith("_") and part != "__init__" for part in path.parts[-3:]):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                found.append((f"{module}.{node.name}", node))
                if isinstance(node, ast.ClassDef):
                    found += [(f"{module}.{node.name}.{m.name}", m) for m in node.body
                              if isinstance(m, ast.FunctionDef) and not m.name.startswith("_")]
    return found


def test_numpydoc_sections_cover_the_public_analytics_api():
    api = public_api()
    assert len(api) > 100  # the walk found the package
    lacking = {name: gaps for name, node in api if (gaps := missing_sections(node))}
    share = 1 - len(lacking) / len(api)
    report = "\n".join(f"  {name}: {', '.join(gaps)}" for name, gaps in sorted(lacking.items()))
    assert share >= SHARE_REQUIRED, (
        f"{share:.1%} of {len(api)} public analytics names have numpydoc sections "
        f"(>= {SHARE_REQUIRED:.0%} needed); lacking:\n{report}")


def test_every_model_names_its_papers():
    """Each model class cites the paper that defines it (a numpydoc References section)."""
    models = [(name, node) for name, node in public_api()
              if ".models." in name and isinstance(node, ast.ClassDef)
              and name.rsplit(".", 1)[1].endswith("Model") and "MLEModel" not in name
              and "RecencyModel" not in name]
    assert len(models) >= 5
    without = [name for name, node in models
               if not _has(ast.get_docstring(node) or "", "References")]
    assert not without, f"model classes without References: {without}"


def test_the_section_check_can_fail():
    """A function with arguments and a return value but a one-line docstring is caught; the
    numpydoc form passes."""
    bare = ast.parse('def f(x):\n    """Double."""\n    return 2 * x\n').body[0]
    assert missing_sections(bare) == ["Parameters", "Returns"]
    full = ast.parse('def f(x):\n    """Double.\n\n    Parameters\n    ----------\n    x : float\n'
                     '\n    Returns\n    -------\n    float\n    """\n    return 2 * x\n').body[0]
    assert missing_sections(full) == []
    data = ast.parse('class C:\n    """A record."""\n\n    a: int\n').body[0]
    assert missing_sections(data) == ["Parameters or Attributes"]

"""Writing a cell's functions into the shared loops, as source text, before numba compiles them.

``numba_loops`` calls the cell's functions (``_cell_step``, ``_learner_rows``, ...), its own parts (``INLINED``) and
the sums of ``numba_sums`` by name. :func:`splice` replaces each such call by the body of the function called: the
parameters become the caller's variables (a temporary where the argument is an expression or the function assigns
to the parameter), the function's own variables get a suffix of their own (``name__3``), and a final ``return v``
becomes ``target = v``. A function whose body is one ``return`` is written into the expression that calls it. The
result is the loop a person would write out for the cell: the same operations in the same order (the same results
bit for bit), with no call left for numba to inline (numba's own inlining re-binds the array arguments of every
inlined call, which costs reference counting in the innermost loops).

Only what the loops call is spliced; a call whose shape this module does not handle (keyword arguments, an early
``return``, a result used where a statement is not the call) raises ``SpliceError``, so nothing is silently left as
a call.
"""

from __future__ import annotations

import ast
import copy


class SpliceError(ValueError):
    """A call to a function to be spliced that this module cannot write out."""


def functions(source: str) -> dict[str, ast.FunctionDef]:
    """The top-level function definitions of a module's source text, by name."""
    return {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _stored(body: list[ast.stmt]) -> set[str]:
    """Names a body binds (assignment targets, loop targets)."""
    module = ast.Module(body=body, type_ignores=[])
    return {n.id for n in ast.walk(module) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id in self.mapping:
            return ast.copy_location(ast.Name(id=self.mapping[node.id], ctx=node.ctx), node)
        return node


class _Substitute(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, ast.expr]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.mapping and isinstance(node.ctx, ast.Load):
            return copy.deepcopy(self.mapping[node.id])
        return node


class _Splicer:
    def __init__(self, library: dict[str, ast.FunctionDef]) -> None:
        self.library = library
        self.sites = 0

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for s in stmts:
            out.extend(self.statement(s))
        return out

    def _callee(self, node: ast.AST) -> ast.FunctionDef | None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.library:
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise SpliceError(f"call of {node.func.id} with keyword or starred arguments")
            return self.library[node.func.id]
        return None

    def statement(self, s: ast.stmt) -> list[ast.stmt]:
        if isinstance(s, ast.Expr) and self._callee(s.value) is not None:
            return self.inline(s.value, None)
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and self._callee(s.value) is not None \
                and not _single_return(self._callee(s.value)):
            return self.inline(s.value, s.targets[0])
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(s, field, self.block(inner))
        return [self.expressions(s)]

    def expressions(self, s: ast.stmt) -> ast.stmt:
        """Write single-return functions into the expressions of ``s`` (not into its nested statements)."""
        splicer = self

        class Inline(ast.NodeTransformer):
            def visit_Call(self, node: ast.Call) -> ast.expr:
                self.generic_visit(node)
                f = splicer._callee(node)
                if f is None:
                    return node
                value = _single_return(f)
                if value is None:
                    raise SpliceError(f"{f.name} is used in an expression but is not a single return")
                params = [a.arg for a in f.args.args]
                if len(params) != len(node.args) or not all(isinstance(a, (ast.Name, ast.Constant))
                                                            for a in node.args):
                    raise SpliceError(f"{f.name} is called with arguments other than names and constants")
                return _Substitute(dict(zip(params, node.args))).visit(copy.deepcopy(value))

        visitor = Inline()
        for field, value in ast.iter_fields(s):
            if field in ("body", "orelse", "finalbody"):
                continue
            if isinstance(value, ast.AST):
                setattr(s, field, visitor.visit(value))
            elif isinstance(value, list):
                setattr(s, field, [visitor.visit(v) if isinstance(v, ast.AST) else v for v in value])
        return s

    def inline(self, call: ast.Call, target: ast.expr | None) -> list[ast.stmt]:
        f = self.library[call.func.id]
        if f.args.vararg or f.args.kwarg or f.args.kwonlyargs or f.args.posonlyargs:
            raise SpliceError(f"{f.name} takes other than plain positional parameters")
        params = [a.arg for a in f.args.args]
        args = list(call.args)
        missing = params[len(args):]
        if len(missing) > len(f.args.defaults):
            raise SpliceError(f"{f.name} called with {len(args)} of its {len(params)} parameters")
        args += f.args.defaults[len(f.args.defaults) - len(missing):]
        self.sites += 1
        k = self.sites
        body = copy.deepcopy(_without_docstring(f.body))
        stored = _stored(body)
        mapping: dict[str, str] = {}
        pre: list[ast.stmt] = []
        for p, a in zip(params, args):
            if isinstance(a, ast.Name) and p not in stored:
                mapping[p] = a.id
            else:
                mapping[p] = f"{p}__{k}"
                pre.append(ast.Assign(targets=[ast.Name(id=mapping[p], ctx=ast.Store())], value=copy.deepcopy(a),
                                      lineno=0))
        for name in stored - set(params):
            mapping[name] = f"{name}__{k}"
        body = [_Rename(mapping).visit(s) for s in body]
        returns = [n for s in body for n in ast.walk(s) if isinstance(n, ast.Return)]
        if returns:
            last = body[-1]
            if len(returns) > 1 or returns[0] is not last:
                raise SpliceError(f"{f.name} returns before its end")
            if target is not None:
                body[-1] = ast.Assign(targets=[target], value=last.value, lineno=0)
            elif last.value is None or isinstance(last.value, (ast.Name, ast.Constant)):
                body.pop()
            else:
                body[-1] = ast.Expr(value=last.value)
        elif target is not None:
            raise SpliceError(f"{f.name} returns nothing, but its result is assigned")
        return pre + self.block(body)


def _single_return(f: ast.FunctionDef) -> ast.expr | None:
    body = _without_docstring(f.body)
    if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
        return body[0].value
    return None


def splice(kernel: ast.FunctionDef, library: dict[str, ast.FunctionDef], name: str | None = None) -> str:
    """The source text of ``kernel`` with every call of a function of ``library`` written out (recursively), the
    function renamed to ``name`` if given.

    Raises:
        SpliceError: a call of a library function this module cannot write out.
    """
    f = copy.deepcopy(kernel)
    f.body = _Splicer(library).block(f.body)
    if name is not None:
        f.name = name
    f.decorator_list = []
    return ast.unparse(ast.fix_missing_locations(f))

r"""How a model runs its layers: work arrays, in-place reuse, the skipped input gradient, the fused head.

The math of every layer is a pure function in :mod:`tinynet.ops`, and a layer
only calls them.  Everything that makes a training step as fast as a
hand-written NumPy loop lives here, in one place:

Work arrays, one plan per batch shape.  A training step writes every
activation, every gradient and every temporary of the layers into arrays it
reuses on the next step, so that training allocates nothing.  A layer asks for
such an array by name, ``self.buffer("z", shape)``, and gets it from its
current :class:`Workspace`.  A model keeps one :class:`Plan` per batch shape
(an epoch has two: the full batches and the last, smaller one), holding a
workspace for each of its layers, and hands the plan's workspaces to the
layers when the batch shape changes (:meth:`Executor.forward`).  Within a plan
every array has a fixed shape, so a lookup is one dictionary access; views
derived from a work array (an im2col window view of a padding buffer) are
made once per plan too (:meth:`Workspace.derived`).  In inference a model
gives its layers :data:`FRESH`, which allocates every array anew: what
``predict`` returns is the caller's to keep.  A layer outside a model uses a
workspace of its own.

In place.  During a model's backward pass the gradient a layer receives from
the layer above is a temporary nothing reads again, so the model sets
:attr:`~tinynet.layers.Layer.reuse_grad_output` on every layer but the top one
(whose gradient is the caller's), and ReLU writes its input gradient over it.

The first layer's input gradient.  Nothing uses :math:`\partial L/\partial X`
for the data; ``backward(grad, input_grad=False)`` sets the first layer's
:attr:`~tinynet.layers.Layer.need_input_grad` to ``False`` for the call, and
Dense and Conv2D then skip a matrix product (and col2im).

The fused head.  When the output activation is a sigmoid or a softmax and the
loss its cross-entropy, the loss is best computed from the logits :math:`z`
and differentiated with respect to them: :math:`\partial L/\partial z` is
:math:`p - y` (targets :math:`y`) divided by the number of terms the loss
averages, :math:`(p - y)/N` for a softmax over :math:`(N, K)`,
:math:`(p - y)/(N D)` for a sigmoid with :math:`D` outputs and
:math:`(p - y)/(N T)` for a softmax over sequences :math:`(N, T, K)` (see
:mod:`tinynet.ops.losses`).  A model then has a :class:`FusedHead`: its
forward pass returns the probabilities as a :class:`HeadOutput`, an array that
carries its logits and their log-normalizer to the loss; the loss returns its
gradient with respect to the logits as a :class:`LogitGradient`; and the
model's backward pass, seeing one, starts below the activation.  The loss
and the layers know nothing else about it, and the four lines of a training
step stay four lines (see :mod:`tinynet.models`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .layers.base import Layer

#: How many plans (batch shapes) a model keeps before it starts over: a loop with
#: ever-changing batch sizes keeps its memory bounded.
PLAN_LIMIT = 8


class Workspace:
    """The named work arrays of one layer (in a model: for one batch shape).

    :meth:`array` returns the array stored under a name, allocating it when it
    is missing or has another shape or dtype; its contents are whatever the last
    user left.  A copy (``copy.deepcopy``, ``pickle``) starts empty.
    """

    __slots__ = ("arrays", "views")

    #: Whether every request allocates anew (see :data:`FRESH`).
    fresh = False

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.views: dict[str, tuple[Any, Any]] = {}

    def __reduce__(self):  # a copy starts empty: a copied view would no longer view its copied base
        return type(self), ()

    def array(
        self,
        key: str,
        shape: tuple[int, ...],
        dtype,
        order: tuple[int, ...] | None = None,
        zeros: bool = False,
    ) -> np.ndarray:
        """The work array ``key`` of ``shape`` and ``dtype`` (contents undefined).

        ``order`` (from :func:`~tinynet.layers.memory_order`) asks for the memory
        layout of another array: axis ``order[0]`` outermost.  ``zeros=True``
        fills it with zeros when it is allocated, never afterwards (a padding
        border, which the caller never writes).
        """
        a = self.arrays.get(key)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self.arrays[key] = allocate(shape, dtype, order, zeros)
        return a

    def derived(self, key: str, source: Any, make: Callable[[], Any]) -> Any:
        """``make()``, made once while ``source`` (a work array it views) stays the same array."""
        entry = self.views.get(key)
        if entry is None or entry[0] is not source:
            entry = self.views[key] = (source, make())
        return entry[1]


class _Fresh(Workspace):
    """A workspace that allocates every array anew and keeps nothing (inference; ``arrays`` stays empty)."""

    __slots__ = ()
    fresh = True

    def array(self, key, shape, dtype, order=None, zeros=False):
        return allocate(shape, dtype, order, zeros)

    def derived(self, key, source, make):
        return make()


#: The workspace of inference: every array is new (the memory contract of ``forward(x)``).
FRESH: Workspace = _Fresh()


def allocate(shape: tuple[int, ...], dtype, order: tuple[int, ...] | None = None, zeros: bool = False):
    """A new array of ``shape`` (zeros or undefined), laid out in memory ``order``."""
    new = np.zeros if zeros else np.empty
    if order is None:
        return new(shape, dtype=dtype)
    return new(tuple(shape[i] for i in order), dtype=dtype).transpose(_inverse(order))


def _inverse(order: tuple[int, ...]) -> tuple[int, ...]:
    """The permutation that undoes ``transpose(order)``."""
    return tuple(sorted(range(len(order)), key=order.__getitem__))


class HeadOutput(np.ndarray):
    """The probabilities of a fused head, carrying what its cross-entropy needs.

    An ordinary array of probabilities :math:`p` (sigmoid or softmax) that knows
    its head (:meth:`FusedHead.output`); the attributes below are computed when a
    loss first asks for them (``predict`` never does), and are valid until the
    model's next forward pass.  A view or a result computed from it carries
    nothing (they are ``None``).

    Attributes
    ----------
    activation : str
        ``"sigmoid"`` or ``"softmax"``.
    logits : ndarray
        Logits :math:`z` with :math:`p = \\sigma(z)`; for the softmax, shifted by
        their row maxima, :math:`s = z - \\max_j z_j` (the loss is the same).
    log_normalizer : ndarray
        :math:`A` with :math:`\\log p = z - A`: :math:`\\log(1 + e^z)` like ``logits``
        (sigmoid), :math:`\\log \\sum_j e^{s_j}` of shape (..., 1) (softmax).
    gradient : LogitGradient
        A work array for the loss's gradient with respect to the logits.
    probabilities : ndarray
        The same probabilities as a plain array (the array this one views), which
        the loss computes with: a ufunc on an ndarray subclass dispatches more
        slowly, about 0.2 to 0.5 µs a call, a few percent of a small model's step.
    """

    head: FusedHead | None = None
    probabilities: np.ndarray | None = None
    parts: tuple[np.ndarray, np.ndarray] | None = None  # (logits, log_normalizer), once computed

    @property
    def activation(self) -> str | None:
        return None if self.head is None else self.head.kind

    @property
    def logits(self) -> np.ndarray | None:
        return None if self.head is None else self.logits_and_log_normalizer()[0]

    @property
    def log_normalizer(self) -> np.ndarray | None:
        return None if self.head is None else self.logits_and_log_normalizer()[1]

    @property
    def gradient(self) -> LogitGradient | None:
        if self.head is None:
            return None
        return self.head.activation.workspace.derived(
            "gradient", self, lambda: LogitGradient.new(self.shape, self.dtype)
        )

    def logits_and_log_normalizer(self) -> tuple[np.ndarray, np.ndarray]:
        """``(logits, log_normalizer)``, computed on the first call after the forward pass."""
        if self.parts is None:
            self.parts = self.head.logits_and_log_normalizer()
        return self.parts


class LogitGradient(np.ndarray):
    r"""A loss gradient with respect to a fused head's *logits* :math:`z`, not its probabilities.

    What :meth:`tinynet.losses.Loss.backward` returns after a :class:`HeadOutput`:
    the activation's Jacobian is folded into it already, so the backward pass
    starts below the activation.

    Attributes
    ----------
    plain : ndarray or None
        For a work array made by :meth:`new` (a fused head's), the same memory as a
        plain array, which the loss's ufuncs write and the backward pass reads
        (faster than through the subclass, see :attr:`HeadOutput.probabilities`);
        None for any other (a view, a slice, one made by ``view(LogitGradient)``).
    """

    plain: np.ndarray | None = None

    @classmethod
    def new(cls, shape: tuple[int, ...], dtype) -> LogitGradient:
        """A work array of ``shape`` and ``dtype`` (contents undefined) that knows its :attr:`plain` form."""
        plain = np.empty(shape, dtype)
        marked = plain.view(cls)
        marked.plain = plain
        return marked


class FusedHead:
    """A sigmoid or softmax output fused with its cross-entropy loss (module docstring).

    Parameters
    ----------
    layer : Layer
        The model's last layer.
    activation : ActivationLayer
        Its activation: the layer itself, an :class:`~tinynet.layers.Activation`'s
        function, or a Dense's or Conv2D's ``activation``.
    """

    def __init__(self, layer: Layer, activation) -> None:
        self.layer, self.activation = layer, activation
        self.kind = activation.activation_name
        # below the head: an ActivatedLayer's pre-activation backward, or nothing (an activation layer)
        self.preactivation = (
            getattr(layer, "backward_preactivation", None) if layer is not activation else None
        )
        if getattr(layer, "fn", None) is activation:  # Activation("softmax"): the whole layer is the head
            self.preactivation = None

    def output(self, p: np.ndarray) -> HeadOutput:
        """The head's probabilities ``p`` as a :class:`HeadOutput` of the last forward's logits."""
        y = self.activation.workspace.derived("head", p, lambda: self._wrap(p))
        y.parts = None  # the logits of this forward pass are computed when the loss asks
        return y

    def _wrap(self, p: np.ndarray) -> HeadOutput:
        y = p.view(HeadOutput)
        y.head, y.probabilities = self, p
        return y

    def logits_and_log_normalizer(self) -> tuple[np.ndarray, np.ndarray]:
        r"""The last forward's logits and their log-normalizer (see :class:`HeadOutput`).

        For the softmax, its shifted logits :math:`s` and :math:`\log S` from the
        row sums its forward kept (:func:`tinynet.ops.softmax`); for the sigmoid,
        :math:`z` and :math:`\log(1 + e^z)` (:func:`tinynet.ops.softplus`).
        """
        act = self.activation
        if self.kind == "softmax":
            return act.s, np.log(act.S)
        A = np.log1p(act.e)  # softplus from the e^{-|z|} the sigmoid kept: log(1 + e) + max(z, 0)
        A += np.maximum(act.x, 0)
        return act.x, A

    def backward(self, grad_z: LogitGradient) -> np.ndarray | None:
        """Backward below the activation: the head layer's pre-activation backward, if it has one."""
        grad_z = grad_z.plain if grad_z.plain is not None else grad_z.view(np.ndarray)
        return grad_z if self.preactivation is None else self.preactivation(grad_z)


class Plan:
    """The workspaces of a model's layers for one batch shape (module docstring)."""

    def __init__(self, layers: list[Layer]) -> None:
        self.assignments = [(layer, Workspace()) for layer in _with_sublayers(layers)]
        #: A graph's arrays for the sums of gradients, by tensor id (see :class:`GraphExecutor`).
        self.sums: dict[int, np.ndarray] = {}


class Executor:
    """Runs a model's layers: forward in order, backward in reverse (module docstring).

    Parameters
    ----------
    layers : list of Layer
    head : FusedHead, optional
    """

    def __init__(self, layers: list[Layer], head: FusedHead | None = None) -> None:
        self.layers = list(layers)
        self.top_down = self.layers[::-1]
        self.head = head
        self.plans: dict[tuple, Plan] = {}
        self.active: Plan | str | None = "unknown"  # whose workspaces the layers hold; None: FRESH

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "plans": {}, "active": "unknown"}

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """Every layer's forward pass in order; a fused head's output is a :class:`HeadOutput`."""
        plan = self.plans.get(x.shape) if training else None
        if training and plan is None:
            if len(self.plans) >= PLAN_LIMIT:
                self.plans.clear()
            plan = self.plans[x.shape] = Plan(self.layers)
        if plan is not self.active:
            self._activate(plan)
        for layer in self.layers:
            x = layer.forward(x, training)
        return x if self.head is None else self.head.output(x)

    def _activate(self, plan: Plan | None) -> None:
        if plan is None:
            for layer in _with_sublayers(self.layers):
                layer.workspace = FRESH
        else:
            for layer, workspace in plan.assignments:
                layer.workspace = workspace
        self.active = plan

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Every layer's backward pass in reverse; the input gradient unless ``input_grad=False``."""
        layers, first = self.top_down, self.layers[0]
        for layer in self.layers[:-1]:
            layer.reuse_grad_output = True  # the gradient from the layer above is a temporary
        first.need_input_grad = input_grad
        try:
            if type(grad) is LogitGradient and self.head is not None:  # dL/dz: past the head's activation
                grad, layers = self.head.backward(grad), layers[1:]
            for layer in layers:
                grad = layer.backward(grad)
        finally:
            first.need_input_grad = True
            for layer in self.layers[:-1]:
                layer.reuse_grad_output = False
        return grad if input_grad else None


class GraphExecutor:
    r"""Runs a functional model's graph: forward in topological order, backward in reverse.

    The graph is a list of nodes in topological order, each
    ``(layer, input ids, listed, output ids)``: tensor ids index one list of
    values, the model's inputs first.  Forward calls each layer on the values of
    its inputs (a list for a layer called on a list).  Backward visits the nodes in
    reverse and hands each the gradient of its output(s); where a tensor feeds
    several nodes, the multivariable chain rule *sums* the gradients they return,

    .. math::

        \frac{\partial L}{\partial x} = \sum_{c \,\in\, \text{consumers of } x}
        \frac{\partial L}{\partial x}\Big|_{c},

    accumulated into an array of this executor's plan (a layer's returned
    gradient is its own work array, or a view of the gradient it was given: it is
    never written).  A node none of whose outputs receives a gradient (below a
    layer that returns None, such as an Embedding's integer ids) is skipped and its
    parameter gradients are zero.  A layer may overwrite the gradient it is given
    (:attr:`~tinynet.layers.Layer.reuse_grad_output`) only when that gradient is a
    temporary nothing else reads: a sum array, the fused head's gradient, or what a
    single-input layer returned from such a temporary (a merge layer hands the same
    array, or views of it, to several inputs; the caller's gradient is the caller's).  Work arrays, plans and the fused head are as in
    :class:`Executor`; the head is the node of a single output.

    Several outputs.  ``backward`` takes one gradient per output (``None`` for none) and
    injects each at its output's tensor, :math:`\partial L/\partial \hat y_k`; an output
    that also feeds other layers (or is listed twice) gets the sum of that and what comes back
    from below, by the rule above.  Each output may have its own fused head (``heads``): its
    probabilities come out as a :class:`HeadOutput` and a :class:`LogitGradient` given for it
    starts that output's backward below its activation.  A head is only valid at an output
    nothing else reads (the caller decides: :meth:`tinynet.models.Model._output_heads`), since
    :math:`\partial L/\partial z` cannot be added to a gradient with respect to the probabilities.

    Parameters
    ----------
    layers : list of Layer
        In topological order, one node each.
    nodes : list of (list of int, bool, list of int)
        For each layer: its input tensor ids, whether it was called on a list, its output tensor ids.
    n_inputs : int
        The model's inputs are tensors ``0 .. n_inputs - 1``.
    outputs : list of int
        The model's output tensor ids.
    head : FusedHead, optional
        The fused head of a model with one output (its node is the last one).
    heads : dict of int to FusedHead, optional
        Several outputs: output position -> its fused head.
    """

    def __init__(
        self,
        layers: list[Layer],
        nodes: list[tuple[list[int], bool, list[int]]],
        n_inputs: int,
        outputs: list[int],
        head: FusedHead | None = None,
        heads: dict[int, FusedHead] | None = None,
    ) -> None:
        self.layers = list(layers)
        self.nodes = [
            (layer, ins, listed, outs) for layer, (ins, listed, outs) in zip(layers, nodes, strict=True)
        ]
        self.n_inputs, self.outputs, self.head = n_inputs, list(outputs), head
        # output position -> its fused head (several outputs), and node index -> head (backward)
        self.heads: dict[int, FusedHead] = dict(heads or {})
        producer = {t: i for i, (_, _, outs) in enumerate(nodes) for t in outs}
        self.head_nodes: dict[int, FusedHead] = {producer[self.outputs[k]]: h for k, h in self.heads.items()}
        if head is not None:  # one output: its node is the last one
            self.head_nodes[len(self.nodes) - 1] = head
        self.n_tensors = n_inputs + sum(len(outs) for _, _, outs in nodes)
        # the layers that read only model inputs skip their input gradient when none is wanted
        self.on_inputs = [
            all(t < n_inputs for t in ins) for _, (ins, _, _) in zip(layers, nodes, strict=True)
        ]
        self.plans: dict[tuple, Plan] = {}
        self.active: Plan | str | None = "unknown"
        self.values: list[Any] = [None] * self.n_tensors

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "plans": {}, "active": "unknown", "values": [None] * self.n_tensors}

    def forward(self, xs: list[np.ndarray], training: bool) -> Any:
        """Every node's forward pass in topological order; the output, or the list of outputs."""
        key = tuple(x.shape for x in xs)
        plan = self.plans.get(key) if training else None
        if training and plan is None:
            if len(self.plans) >= PLAN_LIMIT:
                self.plans.clear()
            plan = self.plans[key] = Plan(self.layers)
        if plan is not self.active:
            self._activate(plan)
        values = self.values
        values[: self.n_inputs] = xs
        for layer, ins, listed, outs in self.nodes:
            y = layer.forward([values[t] for t in ins] if listed else values[ins[0]], training)
            if len(outs) == 1:
                values[outs[0]] = y
            else:
                for t, v in zip(outs, y, strict=True):
                    values[t] = v
        if len(self.outputs) > 1:
            heads = self.heads
            return [
                heads[k].output(values[t]) if k in heads else values[t] for k, t in enumerate(self.outputs)
            ]
        y = values[self.outputs[0]]
        return y if self.head is None else self.head.output(y)

    def _activate(self, plan: Plan | None) -> None:
        Executor._activate(self, plan)  # type: ignore[arg-type]

    def backward(self, grad: Any, input_grad: bool = True) -> Any:
        """Every node's backward pass in reverse; the input gradients (a list for several inputs) unless
        ``input_grad=False``."""
        n = self.n_tensors
        grads: list[Any] = [None] * n
        owned = [False] * n  # grads[t] is this executor's sum array
        # grads[t] is a temporary nothing else reads (so its producer may overwrite it): a sum array, or
        # what a single-input layer returned from a gradient that was itself such a temporary
        free = [False] * n
        plan = self.active if isinstance(self.active, Plan) else None
        sums = plan.sums if plan is not None else {}
        nodes, head_nodes = self.nodes, self.head_nodes
        # each output's gradient is injected at its tensor (an output that also feeds a layer, or is
        # given twice, gets the sum with what comes back from below)
        for t, g in zip(self.outputs, grad if len(self.outputs) > 1 else [grad], strict=True):
            self._accumulate(grads, owned, free, sums, [t], [g], False)
        for i in range(len(nodes) - 1, -1, -1):
            layer, ins, listed, outs = nodes[i]
            head = head_nodes.get(i) if head_nodes else None
            if head is not None and type(grads[outs[0]]) is LogitGradient:  # dL/dz: past the activation
                layer.need_input_grad = input_grad or not self.on_inputs[i]
                try:
                    result = head.backward(grads[outs[0]])
                finally:
                    layer.need_input_grad = True
                self._accumulate(grads, owned, free, sums, ins, [result], True)  # the head layer's own array
                continue
            if len(outs) == 1:
                t = outs[0]
                g = grads[t]
                if g is None:
                    self._skip(layer)
                    continue
                reuse = free[t]
            else:
                g = [grads[t] for t in outs]
                if all(v is None for v in g):
                    self._skip(layer)
                    continue
                reuse = False
            layer.reuse_grad_output = reuse
            layer.need_input_grad = input_grad or not self.on_inputs[i]
            try:
                result = layer.backward(g)
            finally:
                layer.reuse_grad_output = False
                layer.need_input_grad = True
            if listed:
                self._accumulate(grads, owned, free, sums, ins, result, False)
            else:
                self._accumulate(grads, owned, free, sums, ins, [result], reuse)
        if not input_grad:
            return None
        inputs = grads[: self.n_inputs]
        return inputs if self.n_inputs > 1 else inputs[0]

    @staticmethod
    def _skip(layer: Layer) -> None:
        """No gradient reaches this node: its parameters get a zero gradient (not the last step's)."""
        for g in layer.grads.values():
            g.fill(0)

    @staticmethod
    def _accumulate(
        grads: list[Any],
        owned: list[bool],
        free: list[bool],
        sums: dict,
        ins: list[int],
        results,
        is_free: bool,
    ) -> None:
        """Add each input gradient to its tensor's; a second one sums into an owned array."""
        for t, r in zip(ins, results, strict=True):
            if r is None:
                continue
            current = grads[t]
            if current is None:
                grads[t], free[t] = r, is_free
            elif owned[t]:
                np.add(current, r, out=current)
            else:
                total = sums.get(t)
                if total is None or total.shape != r.shape or total.dtype != r.dtype:
                    total = sums[t] = np.empty(r.shape, r.dtype)
                grads[t] = np.add(current, r, out=total)
                owned[t] = free[t] = True


def find_head(layers: list[Layer], loss) -> FusedHead | None:
    """The :class:`FusedHead` of a model with these layers and this loss, or None."""
    from .layers.activations import Activation, ActivationLayer

    if not layers or loss is None or getattr(loss, "fusable_activation", None) is None or loss.from_logits:
        return None
    last = layers[-1]
    if isinstance(last, Activation):
        act = last.fn
    elif isinstance(last, ActivationLayer):
        act = last
    else:
        act = getattr(last, "activation", None)
        if not (isinstance(act, ActivationLayer) and hasattr(last, "backward_preactivation")):
            return None
    if act.activation_name != loss.fusable_activation:
        return None
    return FusedHead(last, act)


def _with_sublayers(layers: list[Layer]) -> list[Layer]:
    """The layers and the activation layers inside them (a Dense's ``activation``, an Activation's ``fn``)."""
    from .layers.base import Layer

    found = []
    for layer in layers:
        found.append(layer)
        for inner in (getattr(layer, "activation", None), getattr(layer, "fn", None)):
            if isinstance(inner, Layer) and inner not in found:
                found.append(inner)
    return found

"""The backend contract test suite: one pytest class that every backend plugin's tests subclass.

It drives a backend only through :func:`assay.plugins.backend` (no database), for each analysis type, on small
seeded synthetic data from :mod:`assay.testing.samples`: one input, and (when the subclass builds such models)
two inputs, as a multi-input splitset hands them out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
import pytest

from assay import errors, plugins
from assay.contracts import TrainResult
from assay.testing.fresh_process import predict_in_fresh_process
from assay.testing.samples import (
    ANALYSIS_TYPES,
    BINARY,
    CLASS_COUNT,
    REGRESSION,
    make_multi_input_samples,
    make_samples,
)

# float tolerance when comparing predictions made in two processes from the same stored weights
_RTOL, _ATOL = 1e-6, 1e-6


@attrs.frozen
class ContractRun:
    """One model trained by the suite: what it was trained on and what it predicts."""

    analysis_type: str
    backend: plugins.Backend
    samples: dict[str, dict[str, np.ndarray]]  # split -> raw numpy samples
    prepared: dict[str, dict[str, Any]]  # split -> samples after prepare_samples
    hyperparameters: dict[str, Any]
    loser: Any
    result: TrainResult
    predictions: np.ndarray
    probabilities: np.ndarray | None

    @property
    def features_shape(self) -> tuple[int, ...] | list[tuple[int, ...]]:
        """One sample's shape, or a list of shapes (one per input) for a multi-input run."""
        return _features_shape(self.samples["train"]["features"])

    @property
    def row_count(self) -> int:
        """Rows of the evaluate split."""
        return len(self.samples["evaluate"]["labels"])

    @property
    def label_shape(self) -> tuple[int, ...]:
        return tuple(self.samples["train"]["labels"].shape[1:])


def _features_shape(features: Any) -> tuple[int, ...] | list[tuple[int, ...]]:
    """``fn_build``'s first argument for these raw features: a list of shapes for a list of inputs."""
    if isinstance(features, (list, tuple)):
        return [tuple(np.shape(part)[1:]) for part in features]
    return tuple(np.shape(features)[1:])


def _as_numpy(values: Any) -> np.ndarray:
    """A backend's array or tensor as numpy (torch tensors are detached and brought to the CPU first)."""
    for method in ("detach", "cpu"):
        if callable(getattr(values, method, None)) and hasattr(values, "requires_grad"):
            values = getattr(values, method)()
    return np.asarray(values)


class BackendContractSuite:
    """The contract every backend plugin passes. Subclass it in a test module whose name starts with ``test_``.

    A subclass defines:

    * ``library`` (str): the library name its plugin answers for, e.g. ``"keras"``.
    * ``fn_build``: a ``fn_build(features_shape, label_shape, **hyperparameters)`` returning a fresh model, or a
      dict ``{analysis_type: fn_build}``. Define them as module-level functions: the suite pickles ``fn_build``
      by value (cloudpickle) to load the stored model in a fresh process. Binary models end in one sigmoid unit
      (or two softmax units), multi-class models in ``label_shape[0]`` softmax units, regression models in
      ``label_shape[0]`` linear units.
    * ``fn_train``: a ``fn_train(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters)``
      that trains for exactly ``hyperparameters["epoch_count"]`` epochs and returns the model or
      ``(model, history)``, or a dict ``{analysis_type: fn_train}``. The history the backend extracts must
      have the keys ``"loss"`` and ``"val_loss"`` (``samples_evaluate`` is always given).

    A subclass may also set or override:

    * ``hyperparameters`` (dict): extra hyperparameters passed to ``fn_build`` and ``fn_train`` beside
      ``epoch_count`` (default ``{}``).
    * ``epoch_count`` (int): epochs per training run (default 2).
    * ``analysis_types`` (tuple[str, ...]): the analysis types the backend supports (default all three).
    * ``make_samples(self, analysis_type, split) -> {"features", "labels"}``: the raw numpy samples of
      ``"train"`` and ``"evaluate"`` (default :func:`assay.testing.samples.make_samples`: float32 features
      ``(n, 4)``; labels ``(n, 1)`` continuous, ``(n, 1)`` 0/1, or one-hot ``(n, 3)``).
    * ``model_outputs(self, model, prepared_samples) -> np.ndarray``: the model's own outputs (probabilities
      for classification) computed directly with the library; when defined, the suite checks that
      ``default_predict`` derives its predictions from them (default: not defined, that test is skipped).
    * ``fn_build_multi_input``: a ``fn_build(features_shape, label_shape, **hyperparameters)`` whose
      ``features_shape`` is a list of shapes, one per input, returning a model that takes one tensor per input
      in that order (Keras: one ``Input`` per shape; torch: ``forward(self, x_0, x_1)``), or a dict
      ``{analysis_type: fn_build}``; module-level, like ``fn_build``. It switches on the multi-input tests
      (default ``None``: they are skipped, saying how to switch them on). They train with
      ``fn_train_multi_input`` (default ``None``: ``fn_train``), which receives ``samples["features"]`` as a list.
    * ``make_multi_input_samples(self, analysis_type, split) -> {"features": [...], "labels"}``: the raw samples
      of the multi-input tests (default :func:`assay.testing.samples.make_multi_input_samples`: a list of a
      float32 table ``(n, 4)`` and a float32 sequence ``(n, 5, 2)``, the label depending on both).

    What the suite checks, per analysis type:

    * the library is listed by an installed plugin; ``versions()`` is a dict of non-empty strings with the
      library's own name among its keys; ``clear_session()`` works before any model exists;
    * ``default_loss`` and ``default_optimizer`` answer; ``prepare_samples`` keeps one row per sample;
    * ``train`` returns a :class:`~assay.contracts.TrainResult` whose history is ``{name: [plain float per
      epoch]}`` with ``loss`` and ``val_loss``; it accepts ``(model, history)`` from ``fn_train`` (even an
      untrained model) and rejects ``None`` with an :class:`~assay.errors.ExperimentError` whose ``parameter``
      is ``"fn_train"``;
    * ``default_predict`` returns numpy predictions of shape ``(n,)``: binary 0/1 with ``p > 0.5`` as class 1
      and probabilities ``(n,)`` in [0, 1]; multi integer argmax with probabilities ``(n, classes)`` summing to
      1; regression raw floats (one output column flattened) with ``None`` probabilities;
    * ``evaluate_loss`` is a finite, non-negative float;
    * ``model_to_bytes`` gives bytes that ``model_from_bytes`` loads in a fresh process (so the plugin must be
      installed through its entry point) with equal predictions (float32 tolerance for probabilities);
    * the same seed gives the same history and predictions twice, with ``clear_session`` after each run as a
      queue does, and another seed gives another model;
    * with ``fn_build_multi_input``, on samples whose ``features`` is a list of two inputs: ``prepare_samples``
      keeps a list with every input, in order, one row per sample each; ``train`` returns the per-epoch
      ``loss`` and ``val_loss``; ``default_predict`` returns what it returns for one input; ``evaluate_loss``
      is finite; ``model_from_bytes`` (given the list of shapes) predicts the same in a fresh process; and the
      same seed gives the same history and predictions twice.

    Helpers for a subclass's own tests: :meth:`train_once` (seed, build, train with the defaults, predict;
    ``multi_input=True`` for the two-input model) and the fixtures ``contract_analysis_type``, ``contract_run``,
    ``contract_seeded_runs`` and ``contract_multi_input_run``.
    """

    library: ClassVar[str] = ""
    fn_build: ClassVar[Callable[..., Any] | Mapping[str, Callable[..., Any]]]
    fn_train: ClassVar[Callable[..., Any] | Mapping[str, Callable[..., Any]]]
    fn_build_multi_input: ClassVar[Callable[..., Any] | Mapping[str, Callable[..., Any]] | None] = None
    fn_train_multi_input: ClassVar[Callable[..., Any] | Mapping[str, Callable[..., Any]] | None] = None
    hyperparameters: ClassVar[Mapping[str, Any]] = {}
    epoch_count: ClassVar[int] = 2
    analysis_types: ClassVar[tuple[str, ...]] = ANALYSIS_TYPES

    # ---------------------------------------------------------------------------------------------------------
    # What a subclass may override
    # ---------------------------------------------------------------------------------------------------------

    def make_samples(self, analysis_type: str, split: str) -> dict[str, np.ndarray]:
        """Raw numpy samples of ``split`` (``"train"`` or ``"evaluate"``) for ``analysis_type``."""
        return make_samples(analysis_type, split)

    def make_multi_input_samples(self, analysis_type: str, split: str) -> dict[str, Any]:
        """Raw numpy samples of ``split`` for the multi-input tests: ``features`` is a list, one array per input."""
        return make_multi_input_samples(analysis_type, split)

    def model_outputs(self, model: Any, samples: dict[str, Any]) -> np.ndarray | None:
        """The model's outputs on prepared ``samples`` as a numpy array, or ``None`` to skip that check."""
        return None

    # ---------------------------------------------------------------------------------------------------------
    # Helpers
    # ---------------------------------------------------------------------------------------------------------

    @classmethod
    def _function(cls, name: str, analysis_type: str) -> Callable[..., Any]:
        value = getattr(cls, name, None)
        if isinstance(value, Mapping):
            value = value.get(analysis_type)
        if not callable(value):
            raise TypeError(f"{cls.__name__}.{name} must be a function or a dict with a function for "
                            f"{analysis_type!r}")
        return value

    def _run_hyperparameters(self) -> dict[str, Any]:
        return {"epoch_count": self.epoch_count, **self.hyperparameters}

    def _backend(self) -> plugins.Backend:
        if not self.library:
            raise TypeError(f"{type(self).__name__} must set library = '<the library its plugin provides>'")
        return plugins.backend(self.library)

    @classmethod
    def _multi_input_functions(cls) -> tuple[str, str]:
        """The names of the multi-input ``fn_build`` and ``fn_train`` (``fn_train`` unless one of its own is set)."""
        return ("fn_build_multi_input",
                "fn_train" if getattr(cls, "fn_train_multi_input", None) is None else "fn_train_multi_input")

    @classmethod
    def _skip_unless_multi_input(cls, analysis_type: str) -> None:
        if analysis_type not in cls.analysis_types:
            pytest.skip(f"{cls.library} does not support {analysis_type}")
        if getattr(cls, "fn_build_multi_input", None) is None:
            pytest.skip(
                f"{cls.__name__} does not define fn_build_multi_input: set it to a module-level "
                "fn_build(features_shape, label_shape, **hyperparameters) whose features_shape is a list of shapes "
                "and whose model takes one tensor per input (or to a dict of such functions by analysis type) to "
                f"check that {cls.library or 'the backend'} handles multi-input models"
            )

    def train_once(self, analysis_type: str, seed: int = 0,
                   fn_train: Callable[..., Any] | None = None, multi_input: bool = False) -> ContractRun:
        """Seed, build, train with the default loss and optimizer, and predict the evaluate split.

        ``multi_input=True`` trains ``fn_build_multi_input``'s model on :meth:`make_multi_input_samples`.
        """
        backend = self._backend()
        make = self.make_multi_input_samples if multi_input else self.make_samples
        fn_build_name, fn_train_name = self._multi_input_functions() if multi_input else ("fn_build", "fn_train")
        samples = {split: make(analysis_type, split) for split in ("train", "evaluate")}
        prepared = {split: backend.prepare_samples(analysis_type, value) for split, value in samples.items()}
        hyperparameters = self._run_hyperparameters()
        backend.seed(seed)
        features_shape = _features_shape(samples["train"]["features"])
        label_shape = tuple(samples["train"]["labels"].shape[1:])
        model = self._function(fn_build_name, analysis_type)(features_shape, label_shape, **hyperparameters)
        loser = backend.default_loss(analysis_type)
        optimizer = backend.default_optimizer(analysis_type, model)
        result = backend.train(
            analysis_type, fn_train or self._function(fn_train_name, analysis_type), model, loser, optimizer,
            prepared["train"], prepared["evaluate"], hyperparameters,
        )
        predictions, probabilities = backend.default_predict(analysis_type, result.model, prepared["evaluate"])
        return ContractRun(analysis_type, backend, samples, prepared, hyperparameters, loser, result,
                           np.asarray(predictions), None if probabilities is None else np.asarray(probabilities))

    # ---------------------------------------------------------------------------------------------------------
    # Fixtures (class-scoped: one training per analysis type serves many tests)
    # ---------------------------------------------------------------------------------------------------------

    @pytest.fixture(params=ANALYSIS_TYPES)
    def contract_analysis_type(self, request) -> str:
        if request.param not in self.analysis_types:
            pytest.skip(f"{self.library} does not support {request.param}")
        return request.param

    # Class-scoped fixtures are classmethods (pytest 9 deprecates instance methods there): they train through a
    # fresh instance, as every test gets one of its own anyway.
    @pytest.fixture(scope="class", params=ANALYSIS_TYPES)
    @classmethod
    def contract_run(cls, request) -> ContractRun:
        if request.param not in cls.analysis_types:
            pytest.skip(f"{cls.library} does not support {request.param}")
        run = cls().train_once(request.param)
        yield run
        run.backend.clear_session()

    @pytest.fixture(scope="class", params=ANALYSIS_TYPES)
    @classmethod
    def contract_seeded_runs(cls, request) -> dict[str, ContractRun]:
        """Runs with seed 7, seed 7 again and seed 8, with ``clear_session`` after each, as a queue does."""
        if request.param not in cls.analysis_types:
            pytest.skip(f"{cls.library} does not support {request.param}")
        suite = cls()
        runs = {}
        for name, seed in (("first", 7), ("again", 7), ("other", 8)):
            runs[name] = suite.train_once(request.param, seed=seed)
            runs[name].backend.clear_session()
        return runs

    @pytest.fixture
    def contract_multi_input_analysis_type(self, contract_analysis_type) -> str:
        self._skip_unless_multi_input(contract_analysis_type)
        return contract_analysis_type

    @pytest.fixture(scope="class", params=ANALYSIS_TYPES)
    @classmethod
    def contract_multi_input_run(cls, request) -> ContractRun:
        """The two-input model trained with seed 0 (see ``fn_build_multi_input``)."""
        cls._skip_unless_multi_input(request.param)
        run = cls().train_once(request.param, multi_input=True)
        yield run
        run.backend.clear_session()

    # ---------------------------------------------------------------------------------------------------------
    # The library
    # ---------------------------------------------------------------------------------------------------------

    def test_library_is_provided_by_an_installed_plugin(self):
        assert self.library in plugins.libraries()
        assert self._backend().library == self.library

    def test_versions_name_the_library_and_are_strings(self):
        versions = self._backend().versions()
        assert self.library in versions
        assert all(isinstance(value, str) and value for value in versions.values())

    def test_clear_session_can_be_called_before_any_model_exists(self):
        backend = self._backend()
        backend.clear_session()
        backend.clear_session()

    # ---------------------------------------------------------------------------------------------------------
    # Defaults and samples
    # ---------------------------------------------------------------------------------------------------------

    def test_default_loss_and_optimizer_exist_for_the_analysis_type(self, contract_analysis_type):
        backend = self._backend()
        samples = self.make_samples(contract_analysis_type, "train")
        model = self._function("fn_build", contract_analysis_type)(
            tuple(samples["features"].shape[1:]), tuple(samples["labels"].shape[1:]), **self._run_hyperparameters()
        )
        assert backend.default_loss(contract_analysis_type) is not None
        assert backend.default_optimizer(contract_analysis_type, model) is not None
        backend.clear_session()

    def test_prepared_samples_keep_one_row_per_sample(self, contract_analysis_type):
        samples = self.make_samples(contract_analysis_type, "train")
        prepared = self._backend().prepare_samples(contract_analysis_type, samples)
        assert set(prepared) >= {"features", "labels"}
        assert len(prepared["features"]) == len(samples["features"])
        assert len(prepared["labels"]) == len(samples["labels"])

    # ---------------------------------------------------------------------------------------------------------
    # Training
    # ---------------------------------------------------------------------------------------------------------

    def test_training_returns_a_train_result_with_one_history_value_per_epoch(self, contract_run):
        self._check_train_result(contract_run.result)

    def _check_train_result(self, result: Any) -> None:
        assert isinstance(result, TrainResult)
        assert {"loss", "val_loss"} <= set(result.history), f"history keys: {sorted(result.history)}"
        for name, values in result.history.items():
            assert isinstance(values, list), name
            assert len(values) == self.epoch_count, name
            assert all(type(value) is float and math.isfinite(value) for value in values), (name, values)

    def test_train_accepts_a_model_and_history_pair_from_fn_train(self, contract_analysis_type):
        # no fitting needed to prove the pair is understood: this fn_train hands the built model straight back
        def fn_train_with_history(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters):
            return model, {"loss": [1.5, 0.5]}

        run = self.train_once(contract_analysis_type, fn_train=fn_train_with_history)
        run.backend.clear_session()
        assert run.result.history == {"loss": [1.5, 0.5]}
        assert all(type(value) is float for value in run.result.history["loss"])
        assert len(run.predictions) == len(run.samples["evaluate"]["features"])

    def test_train_rejects_fn_train_returning_none_naming_fn_train(self, contract_analysis_type):
        def fn_train_without_return(model, loser, optimizer, samples_train, samples_evaluate, **hyperparameters):
            pass  # the classic mistake: forgetting `return model`

        with pytest.raises(errors.ExperimentError) as raised:
            self.train_once(contract_analysis_type, fn_train=fn_train_without_return)
        self._backend().clear_session()
        assert raised.value.parameter == "fn_train"

    # ---------------------------------------------------------------------------------------------------------
    # Prediction and loss
    # ---------------------------------------------------------------------------------------------------------

    def test_default_predict_fits_the_analysis_type(self, contract_run):
        self._check_default_predict(contract_run)

    def _check_default_predict(self, contract_run: ContractRun) -> None:
        predictions, probabilities = contract_run.predictions, contract_run.probabilities
        row_count = contract_run.row_count
        assert predictions.shape == (row_count,)
        if contract_run.analysis_type == REGRESSION:
            assert probabilities is None
            assert predictions.dtype.kind == "f"
            assert np.all(np.isfinite(predictions))
            assert len(np.unique(predictions)) > 2, "regression predictions look thresholded"
        elif contract_run.analysis_type == BINARY:
            assert probabilities.shape == (row_count,)
            assert np.all((probabilities >= 0) & (probabilities <= 1))
            assert set(np.unique(predictions)) <= {0, 1}
            clear = np.abs(probabilities - 0.5) > 1e-6  # exactly 0.5 may go either way
            np.testing.assert_array_equal(predictions[clear], (probabilities[clear] > 0.5).astype(int))
        else:
            assert probabilities.shape == (row_count, CLASS_COUNT)
            assert predictions.dtype.kind in "iu"
            np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
            ranked = np.sort(probabilities, axis=1)
            clear = ranked[:, -1] - ranked[:, -2] > 1e-6  # ties may go either way
            np.testing.assert_array_equal(predictions[clear], probabilities[clear].argmax(axis=1))

    def test_default_predict_derives_from_the_model_outputs(self, contract_run):
        outputs = self.model_outputs(contract_run.result.model, contract_run.prepared["evaluate"])
        if outputs is None:
            pytest.skip(f"{type(self).__name__} does not define model_outputs()")
        outputs = np.asarray(outputs)
        if contract_run.analysis_type == REGRESSION:
            np.testing.assert_allclose(contract_run.predictions, outputs.reshape(len(outputs), -1)[:, 0],
                                       rtol=_RTOL, atol=_ATOL)
        elif contract_run.analysis_type == BINARY:
            positive = outputs[:, -1] if outputs.ndim == 2 else outputs
            np.testing.assert_allclose(contract_run.probabilities, positive, rtol=_RTOL, atol=_ATOL)
        else:
            np.testing.assert_allclose(contract_run.probabilities, outputs, rtol=_RTOL, atol=_ATOL)

    def test_evaluate_loss_is_a_finite_non_negative_float(self, contract_run):
        self._check_evaluate_loss(contract_run)

    def _check_evaluate_loss(self, contract_run: ContractRun) -> None:
        loss = contract_run.backend.evaluate_loss(
            contract_run.analysis_type, contract_run.result.model, contract_run.loser,
            contract_run.prepared["evaluate"],
        )
        assert isinstance(loss, float)
        assert math.isfinite(loss)
        assert loss >= 0

    # ---------------------------------------------------------------------------------------------------------
    # Persistence
    # ---------------------------------------------------------------------------------------------------------

    def test_model_loaded_from_bytes_in_a_fresh_process_predicts_the_same(self, contract_run):
        self._check_fresh_process(contract_run, "fn_build")

    def _check_fresh_process(self, contract_run: ContractRun, fn_build_name: str) -> None:
        data = contract_run.backend.model_to_bytes(contract_run.result.model)
        assert isinstance(data, bytes)
        assert data
        predictions, probabilities = predict_in_fresh_process(
            self.library, contract_run.analysis_type, data, self._function(fn_build_name, contract_run.analysis_type),
            contract_run.features_shape, contract_run.label_shape, contract_run.hyperparameters,
            contract_run.samples["evaluate"],
        )
        if contract_run.analysis_type == REGRESSION:
            np.testing.assert_allclose(predictions, contract_run.predictions, rtol=_RTOL, atol=_ATOL)
            assert probabilities is None
        else:
            np.testing.assert_array_equal(predictions, contract_run.predictions)
            np.testing.assert_allclose(probabilities, contract_run.probabilities, rtol=_RTOL, atol=_ATOL)

    # ---------------------------------------------------------------------------------------------------------
    # Reproducibility
    # ---------------------------------------------------------------------------------------------------------

    def test_same_seed_gives_the_same_history_and_predictions_twice(self, contract_seeded_runs):
        self._check_same_run(contract_seeded_runs["first"], contract_seeded_runs["again"])

    def _check_same_run(self, first: ContractRun, again: ContractRun) -> None:
        assert first.result.history == again.result.history
        np.testing.assert_array_equal(first.predictions, again.predictions)
        if first.probabilities is not None:
            np.testing.assert_array_equal(first.probabilities, again.probabilities)

    def test_another_seed_gives_another_model(self, contract_seeded_runs):
        first, other = contract_seeded_runs["first"], contract_seeded_runs["other"]
        first_values = first.predictions if first.probabilities is None else first.probabilities
        other_values = other.predictions if other.probabilities is None else other.probabilities
        assert not np.array_equal(first_values, other_values)

    # ---------------------------------------------------------------------------------------------------------
    # Several inputs (fn_build_multi_input)
    # ---------------------------------------------------------------------------------------------------------

    def test_multi_input_prepared_samples_keep_every_input_in_order_with_one_row_per_sample(
            self, contract_multi_input_analysis_type):
        samples = self.make_multi_input_samples(contract_multi_input_analysis_type, "train")
        prepared = self._backend().prepare_samples(contract_multi_input_analysis_type, samples)
        assert set(prepared) >= {"features", "labels"}
        assert isinstance(prepared["features"], (list, tuple)), (
            f"a multi-input split's features must stay a list, one entry per input; got "
            f"{type(prepared['features']).__name__}")
        assert len(prepared["features"]) == len(samples["features"])
        assert len(prepared["labels"]) == len(samples["labels"])
        for index, (raw, part) in enumerate(zip(samples["features"], prepared["features"], strict=True)):
            values = _as_numpy(part)
            assert len(values) == len(raw), f"input {index}: {len(values)} rows for {len(raw)} samples"
            # the same values row by row: a backend may change the dtype and the array type, not which input is where
            assert values.size == raw.size, f"input {index} holds {values.size} values, not input {index}'s {raw.size}"
            np.testing.assert_allclose(values.reshape(len(raw), -1), raw.reshape(len(raw), -1), rtol=1e-3, atol=1e-3,
                                       err_msg=f"input {index} is not input {index} of the raw samples")

    def test_multi_input_training_returns_a_train_result_with_one_history_value_per_epoch(
            self, contract_multi_input_run):
        self._check_train_result(contract_multi_input_run.result)

    def test_multi_input_default_predict_fits_the_analysis_type(self, contract_multi_input_run):
        self._check_default_predict(contract_multi_input_run)

    def test_multi_input_evaluate_loss_is_a_finite_non_negative_float(self, contract_multi_input_run):
        self._check_evaluate_loss(contract_multi_input_run)

    def test_multi_input_model_loaded_from_bytes_in_a_fresh_process_predicts_the_same(
            self, contract_multi_input_run):
        self._check_fresh_process(contract_multi_input_run, "fn_build_multi_input")

    def test_multi_input_same_seed_gives_the_same_history_and_predictions_twice(self, contract_multi_input_run):
        # contract_multi_input_run was trained with seed 0; the session is cleared in between, as a queue does
        run = contract_multi_input_run
        run.backend.clear_session()
        again = self.train_once(run.analysis_type, seed=0, multi_input=True)
        again.backend.clear_session()
        self._check_same_run(run, again)

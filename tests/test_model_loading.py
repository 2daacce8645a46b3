"""Each backend plugin turns bytes it cannot load into a ModelLoadError, and the core wraps any plugin that lets
a raw exception escape."""

from __future__ import annotations

import io
import zipfile

import pytest

from assay import errors, plugins


@pytest.mark.parametrize("library", ["keras", "torch"])
@pytest.mark.parametrize("data", [b"", b"garbage bytes", b"PK\x03\x04 truncated zip"], ids=["empty", "text", "zip"])
def test_bytes_that_are_not_a_model_are_a_model_load_error(library, data):
    pytest.importorskip(f"assay_{library}")

    def fn_build(features_shape, label_shape, **hp):
        from torch import nn

        return nn.Linear(features_shape[0], 1)

    with pytest.raises(errors.ModelLoadError, match=r"damaged|another library"):
        plugins.backend(library).model_from_bytes(data, fn_build=fn_build, features_shape=(4,), label_shape=(1,),
                                                  hyperparameters={})


@pytest.mark.parametrize(("members", "fragment"), [
    ({"metadata.json": "{}"}, r"is not a Keras \.keras archive \(a zip archive without config\.json"),
    ({"config.json": "{broken", "metadata.json": "{}"}, r"the \.keras archive is damaged"),
])
def test_a_damaged_keras_archive_is_a_model_load_error(members, fragment):
    pytest.importorskip("assay_keras")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(errors.ModelLoadError, match=fragment):
        plugins.backend("keras").model_from_bytes(buffer.getvalue(), fn_build=None, features_shape=(4,),
                                                  label_shape=(1,), hyperparameters={})

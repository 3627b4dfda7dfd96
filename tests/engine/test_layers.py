"""Each layer type: metadata, shape inference, parameter counts, and that the torch module agrees with both."""
import math

import pytest
import torch

from engine.errors import GraphError, InvalidInput
from engine.layers import all_layers, get_layer

GROUPS = {"Input/Output", "Core", "Activation", "Regularization", "Normalization", "Merge", "Reshape", "Convolution", "Pooling", "Embedding", "Recurrent"}


def infer(name, shapes, **params):
    lt = get_layer(name)
    p = lt.schema.validate(params, owner=name)
    return lt.infer([tuple(s) for s in shapes], p), lt.count_params([tuple(s) for s in shapes], p), p


# (layer, input shapes, params, expected shape, expected count)
CASES = [
    ("Dense", [(5,)], {"units": 3}, (3,), 5 * 3 + 3),
    ("Dense", [(5,)], {"units": 3, "use_bias": False}, (3,), 15),
    ("Dense", [(5,)], {"units": 3, "activation": "maxout", "activation_params": {"pieces": 4}}, (3,), 5 * 12 + 12),
    ("Dense", [(5,)], {"units": 3, "activation": "prelu"}, (3,), 18 + 1),
    ("Activation", [(4, 6, 6)], {"activation": "relu"}, (4, 6, 6), 0),
    ("Activation", [(6,)], {"activation": "maxout", "activation_params": {"pieces": 3}}, (2,), 0),
    ("Activation", [(6,)], {"activation": "prelu"}, (6,), 1),
    ("Dropout", [(1, 4, 4)], {"p": 0.3}, (1, 4, 4), 0),
    ("BatchNorm", [(7,)], {}, (7,), 14),
    ("BatchNorm", [(3, 10)], {}, (3, 10), 6),
    ("BatchNorm", [(4, 5, 5)], {}, (4, 5, 5), 8),
    ("LayerNorm", [(3, 4)], {}, (3, 4), 24),
    ("Add", [(3,), (3,), (3,)], {}, (3,), 0),
    ("Concatenate", [(2, 5), (2, 7)], {"axis": 1}, (2, 12), 0),
    ("Flatten", [(2, 3, 4)], {}, (24,), 0),
    ("Reshape", [(24,)], {"shape": [2, -1, 3]}, (2, 4, 3), 0),
    ("Conv1d", [(2, 10)], {"filters": 3, "kernel_size": 3, "stride": 2, "padding": 1}, (3, 5), 3 * 2 * 3 + 3),
    ("Conv2d", [(3, 9, 7)], {"filters": 4, "kernel_size": 3, "stride": 2}, (4, 4, 3), 4 * 3 * 9 + 4),
    ("Conv2d", [(1, 8, 8)], {"filters": 4, "kernel_size": 3, "padding": 1, "activation": "maxout"}, (4, 8, 8), 8 * 9 + 8),
    ("MaxPool", [(2, 9)], {"pool_size": 3}, (2, 3), 0),
    ("AvgPool", [(2, 9, 6)], {"pool_size": 2, "stride": 1}, (2, 8, 5), 0),
    ("Embedding", [(5,)], {"num_embeddings": 20, "embedding_dim": 4}, (5, 4), 80),
    ("Input", [], {"shape": [1, 8, 8]}, (1, 8, 8), 0),
    ("Output", [(3,)], {}, (3,), 0),
]


@pytest.mark.parametrize("name,shapes,params,shape,count", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_shape_count_and_module_agree(name, shapes, params, shape, count):
    out, n, p = infer(name, shapes, **params)
    assert tuple(out) == shape
    assert n == count
    module = get_layer(name).build([tuple(s) for s in shapes], p)
    assert sum(q.numel() for q in module.parameters()) == count
    if name == "Input":
        return
    xs = [torch.randint(0, 20, (2, *s)).double() if name == "Embedding" else torch.randn(2, *s, dtype=torch.float64) for s in shapes]
    module.double().train()
    y = module(*xs)
    assert tuple(y.shape) == (2, *shape)


def test_every_layer_has_metadata():
    layers = all_layers()
    assert len(layers) >= 16
    for name, lt in layers.items():
        assert lt.group in GROUPS, name
        assert len(lt.doc) > 20 and lt.doc.startswith(name), name
        assert set(lt.key_params) <= set(lt.schema.names()), name
    assert get_layer("Dense").init_targets == ("weight", "bias")
    assert get_layer("Conv2d").init_targets == ("weight", "bias")
    assert get_layer("Embedding").init_targets == ("weight",)
    assert get_layer("Input").ports == ()
    assert get_layer("Add").variadic and get_layer("Add").min_inputs == 2
    assert "Linear" in get_layer("Dense").doc and "Linear" not in layers


def test_layer_defaults_validate():
    for name, lt in all_layers().items():
        p = lt.schema.validate({}, owner=name)
        assert set(p) == set(lt.schema.names())


@pytest.mark.parametrize(
    "name,shapes,params,needles",
    [
        ("Dense", [(1, 8, 8)], {"units": 2}, ["(1, 8, 8)", "(n,)", "Flatten"]),
        ("Dense", [(5,)], {"units": 2, "activation": "maxout", "activation_params": "x"}, ["'x'"]),
        ("Activation", [(5,)], {"activation": "maxout"}, ["(5,)", "2"]),
        ("Conv2d", [(3, 4, 4)], {"kernel_size": 5}, ["(3, 4, 4)", "5"]),
        ("Conv2d", [(16,)], {}, ["(C, H, W)", "(16,)"]),
        ("Conv1d", [(1, 4, 4)], {}, ["(C, L)", "(1, 4, 4)"]),
        ("MaxPool", [(8,)], {}, ["(8,)"]),
        ("AvgPool", [(1, 3, 3)], {"pool_size": 4}, ["(1, 3, 3)", "4"]),
        ("Reshape", [(10,)], {"shape": [3, -1]}, ["(10,)", "(3, -1)"]),
        ("Reshape", [(10,)], {"shape": [3, 3]}, ["(10,)", "(3, 3)"]),
        ("Reshape", [(10,)], {"shape": [-1, -1]}, ["[-1, -1]"]),
        ("Concatenate", [(2,), (3, 1)], {}, ["(2,)", "(3, 1)"]),
        ("Concatenate", [(2,), (3,)], {"axis": 1}, ["axis 1"]),
        ("Add", [(2,), (3,)], {}, ["(2,)", "(3,)"]),
        ("BatchNorm", [(1, 2, 3, 4)], {}, ["(1, 2, 3, 4)"]),
        ("Dropout", [(3,)], {"p": 1.0}, ["1.0"]),
        ("Input", [], {"shape": []}, ["[]"]),
    ],
)
def test_shape_errors_name_the_shapes(name, shapes, params, needles):
    with pytest.raises(InvalidInput) as e:
        infer(name, shapes, **params)
    for s in needles:
        assert s in str(e.value), (s, str(e.value))


def test_shape_error_is_a_graph_error():
    with pytest.raises(GraphError):
        infer("Dense", [(2, 2)], units=1)


def test_pool_stride_defaults_to_window_and_picks_rank():
    lt = get_layer("MaxPool")
    p = lt.schema.validate({"pool_size": 2})
    assert p["stride"] is None
    assert lt.infer([(3, 8, 8)], p) == (3, 4, 4)
    assert isinstance(lt.build([(3, 8, 8)], p), torch.nn.MaxPool2d)
    assert isinstance(lt.build([(3, 8)], p), torch.nn.MaxPool1d)
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert get_layer("AvgPool").build([(1, 4, 4)], p)(x).flatten().tolist() == [2.5, 4.5, 10.5, 12.5]
    assert lt.build([(1, 4, 4)], p)(x).flatten().tolist() == [5.0, 7.0, 13.0, 15.0]


def test_batchnorm_picks_1d_or_2d():
    lt = get_layer("BatchNorm")
    p = lt.schema.validate({"momentum": 0.3, "eps": 1e-3})
    m = lt.build([(3, 10)], p)
    assert isinstance(m, torch.nn.BatchNorm1d) and m.num_features == 3 and m.momentum == 0.3 and m.eps == 1e-3
    assert isinstance(lt.build([(3, 4, 4)], p), torch.nn.BatchNorm2d)
    assert isinstance(lt.build([(5,)], p), torch.nn.BatchNorm1d)


def test_layernorm_normalizes_each_sample():
    lt = get_layer("LayerNorm")
    m = lt.build([(2, 3)], lt.schema.validate({})).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64) * 5 + 3
    y = m(x).reshape(4, -1)
    assert torch.allclose(y.mean(1), torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(y.var(1, unbiased=False), torch.ones(4, dtype=torch.float64), atol=1e-4)


def test_reshape_and_flatten_keep_values_in_order():
    x = torch.arange(24.0).reshape(2, 12)
    r = get_layer("Reshape")
    m = r.build([(12,)], r.schema.validate({"shape": [3, -1]}))
    assert m(x).shape == (2, 3, 4) and m(x)[1, 2, 3].item() == 23.0
    f = get_layer("Flatten")
    assert torch.equal(f.build([(3, 4)], {})(m(x)), x)


def test_embedding_casts_and_checks_indices():
    lt = get_layer("Embedding")
    m = lt.build([(3,)], lt.schema.validate({"num_embeddings": 5, "embedding_dim": 2}))
    with torch.no_grad():
        m.weight.copy_(torch.arange(10.0).reshape(5, 2))
    y = m(torch.tensor([[0.0, 4.0, 2.0]]))
    assert y.tolist() == [[[0.0, 1.0], [8.0, 9.0], [4.0, 5.0]]]
    with pytest.raises(InvalidInput, match=r"index 5 .*0\.\.4"):
        m(torch.tensor([[0.0, 5.0, 1.0]]))
    with pytest.raises(InvalidInput, match="-1"):
        m(torch.tensor([[-1.0, 0.0, 1.0]]))


def test_conv2d_module_matches_numpy_cross_correlation():
    import numpy as np

    lt = get_layer("Conv2d")
    p = lt.schema.validate({"filters": 2, "kernel_size": 2, "stride": 1, "padding": 1, "activation": "relu"})
    m = lt.build([(1, 3, 3)], p).double()
    rng = np.random.default_rng(0)
    w, b, x = rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2), rng.normal(size=(1, 1, 3, 3))
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(w))
        m.bias.copy_(torch.from_numpy(b))
    xp = np.pad(x[0, 0], 1)
    ref = np.zeros((2, 4, 4))
    for f in range(2):
        for i in range(4):
            for j in range(4):
                ref[f, i, j] = max(0.0, (xp[i:i + 2, j:j + 2] * w[f, 0]).sum() + b[f])
    np.testing.assert_allclose(m(torch.from_numpy(x)).detach().numpy()[0], ref, atol=1e-12)
    pre, post = m.record(torch.from_numpy(x))
    assert torch.equal(post, torch.relu(pre))


def test_building_does_not_consume_the_global_rng():
    torch.manual_seed(7)
    a = torch.rand(3)
    torch.manual_seed(7)
    for name, shapes, params, *_ in CASES:
        lt = get_layer(name)
        lt.build([tuple(s) for s in shapes], lt.schema.validate(params))
    assert torch.equal(torch.rand(3), a)


def test_count_params_formula_for_conv1d_matches_hand_count():
    _, n, _ = infer("Conv1d", [(3, 20)], filters=5, kernel_size=4)
    assert n == 5 * 3 * 4 + 5
    _, n, _ = infer("LayerNorm", [(2, 3, 4)])
    assert n == 2 * math.prod((2, 3, 4))

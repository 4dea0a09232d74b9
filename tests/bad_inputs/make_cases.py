#!/usr/bin/python3
"""Generates the hostile-input cases under tests/bad_inputs/cases/ and their
manifest cases.tsv. Run with /usr/bin/python3 (needs the onnx package):

    /usr/bin/python3 tests/bad_inputs/make_cases.py

Every case is a folder holding the files it needs (or pointing at the shared
models in cases/common/). bad_inputs_test runs each one through the command
line and through the C API and checks the outcome written here. Expected
outcomes come from the contracts (README, sparse_infer.h, the CLI's exit
codes), not from running the engine.

Manifest columns (tab-separated, '-' = none / not applicable):
  case         folder name under cases/
  model        model path, relative to the case folder
  inputs       CLI input files (space-separated), relative to the case folder
  args         extra CLI arguments; --max-memory is also applied to the C API
  capi_inputs  what si_run gets, space-separated, one per input:
                 DTYPE[DIMS]@SOURCE  DTYPE: f32 u8 i8 i32 i64 bool or dtN (raw
                 enum value); DIMS: comma-separated, any int64; SOURCE: zeros,
                 zeros+K / zeros-K (size_bytes off by K), null (data NULL), or a
                 .bin file. 'auto' = zero-filled inputs of the declared shapes
                 (dynamic dims 1); 'none' = no inputs; '-' = only
                 si_session_create is checked.
  cli_exit     expected exit code of sparse-infer, '-' = not applicable
  capi_status  expected si_status of the first failing call (0: all succeed),
               '-' = not applicable
  fragment     text the error message must contain; "A | B": A for the CLI's
               stderr, B for si_last_error(). Checked only on failure.
"""
import io
import os
import random
import shutil
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")

# sparse-infer exit codes and si_status values.
OK, USAGE, MODEL, INPUT, INTERNAL = 0, 1, 2, 3, 4
S_OK, S_ARG, S_MODEL, S_UNSUPPORTED, S_IO, S_OOM = 0, 1, 2, 3, 4, 5

rows = []


def case_dir(name):
    d = os.path.join(CASES, name)
    os.makedirs(d, exist_ok=True)
    return d


def write(name, file, data):
    path = os.path.join(case_dir(name), file)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def add(name, model, inputs, cli_exit, capi_status, fragment, args="-", capi_inputs="-"):
    assert "\t" not in fragment
    case_dir(name)
    rows.append([name, model, inputs or "-", args, capi_inputs, str(cli_exit), str(capi_status),
                 fragment or "-"])


def model_bytes(graph, opset=13, ir=8, **kw):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], **kw)
    m.ir_version = ir
    return m.SerializeToString()


def vi(name, elem=TensorProto.FLOAT, dims=None):
    return helper.make_tensor_value_info(name, elem, dims)


def npy(array):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def raw_npy(descr, shape, fortran=False, data=b"", version=1):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H", len(header)) + \
        header.encode() + data


def relu_graph(x_dims, name="g", node_name="relu"):
    return helper.make_graph([helper.make_node("Relu", ["X"], ["Y"], name=node_name)], name,
                             [vi("X", dims=x_dims)], [vi("Y", dims=x_dims)])


def tensor(name, elem, dims, raw=None, **fields):
    t = TensorProto()
    t.name = name
    t.data_type = elem
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    for k, v in fields.items():
        getattr(t, k).extend(v)
    return t


def common():
    """cases/common/mlp.onnx: X float[N,8] -> MatMul(8x4) -> Relu -> Y[N,4]."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "W")
    g = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["H"], name="fc"),
         helper.make_node("Relu", ["H"], ["Y"], name="act")],
        "mlp", [vi("X", dims=["N", 8])], [vi("Y", dims=["N", 4])], [w])
    write("common", "mlp.onnx", model_bytes(g))
    # Bool input model for the .bin bool check.
    g = helper.make_graph([helper.make_node("Identity", ["B"], ["Y"], name="id")], "b",
                          [vi("B", TensorProto.BOOL, [4])], [vi("Y", TensorProto.BOOL, [4])])
    write("common", "bool_identity.onnx", model_bytes(g))
    return "../common/mlp.onnx"


def file_level_cases(mlp):
    good = open(os.path.join(CASES, "common", "mlp.onnx"), "rb").read()
    write("empty_file", "model.onnx", b"")
    add("empty_file", "model.onnx", None, MODEL, S_MODEL, "not a valid ONNX model")
    write("truncated_half", "model.onnx", good[: len(good) // 2])
    add("truncated_half", "model.onnx", None, MODEL, S_MODEL, "not a valid ONNX model")
    write("truncated_10_bytes", "model.onnx", good[:10])
    add("truncated_10_bytes", "model.onnx", None, MODEL, S_MODEL, "not a valid ONNX model")
    # Byte 0 is ModelProto's first tag; wire type 7 does not exist.
    write("bitflip_first_tag", "model.onnx", bytes([good[0] | 0x07]) + good[1:])
    add("bitflip_first_tag", "model.onnx", None, MODEL, S_MODEL, "not a valid ONNX model")
    # Garbage weights: NaN/Inf bit patterns in W's raw_data still load and run.
    m = onnx.load_from_string(good)
    raw = bytearray(m.graph.initializer[0].raw_data)
    for i in range(0, len(raw), 4):
        raw[i: i + 4] = [0xFF, 0xFF, 0xFF, 0x7F] if i % 8 == 0 else [0, 0, 0x80, 0x7F]
    m.graph.initializer[0].raw_data = bytes(raw)
    write("bitflip_weights_nan_inf", "model.onnx", m.SerializeToString())
    add("bitflip_weights_nan_inf", "model.onnx", "x.npy", OK, S_OK, "", capi_inputs="auto")
    write("bitflip_weights_nan_inf", "x.npy", npy(np.ones((2, 8), np.float32)))
    write("text_file", "model.onnx", b"this is not a model\n")
    add("text_file", "model.onnx", None, MODEL, S_MODEL, "not a valid ONNX model")
    write("no_graph", "model.onnx", onnx.ModelProto(ir_version=8).SerializeToString())
    add("no_graph", "model.onnx", None, MODEL, S_MODEL, "not a valid ONNX model")
    m = onnx.load_from_string(good)
    m.ClearField("ir_version")
    write("no_ir_version", "model.onnx", m.SerializeToString())
    add("no_ir_version", "model.onnx", None, MODEL, S_MODEL, "not a valid ONNX model")
    m = onnx.load_from_string(good)
    m.ir_version = 99
    write("ir_version_99", "model.onnx", m.SerializeToString())
    add("ir_version_99", "model.onnx", None, MODEL, S_MODEL, "ir_version")
    add("model_missing", "does_not_exist.onnx", None, MODEL, S_IO, "does_not_exist.onnx")
    write("model_is_directory", "model.onnx/README", b"a folder where a model file should be\n")
    add("model_is_directory", "model.onnx", None, MODEL, S_IO, "not a regular file")


def initializer_cases():
    def with_init(name, init, fragment, cli=MODEL, capi=S_MODEL):
        g = helper.make_graph([helper.make_node("Add", ["X", init.name], ["Y"], name="add")], "g",
                              [vi("X", dims=[2, 3])], [vi("Y", dims=[2, 3])], [init])
        write(name, "model.onnx", model_bytes(g))
        add(name, "model.onnx", None, cli, capi, fragment)

    f4 = lambda *v: struct.pack("<%df" % len(v), *v)
    with_init("init_raw_shorter_than_dims", tensor("W", TensorProto.FLOAT, [2, 3], f4(1, 2, 3)),
              "has 12 bytes in raw_data")
    with_init("init_raw_longer_than_dims", tensor("W", TensorProto.FLOAT, [2, 3], f4(*range(7))),
              "has 28 bytes in raw_data")
    with_init("init_typed_count_mismatch",
              tensor("W", TensorProto.FLOAT, [2, 3], float_data=[1.0] * 5), "5 values")
    with_init("init_two_encodings",
              tensor("W", TensorProto.FLOAT, [2, 3], f4(*range(6)), float_data=[1.0] * 6),
              "one and only one value field")
    with_init("init_dims_overflow_int64",
              tensor("W", TensorProto.FLOAT, [1 << 32, (1 << 32) + 1], f4(1, 2)), "\"W\"")
    with_init("init_dims_above_2p40", tensor("W", TensorProto.FLOAT, [1 << 21, 1 << 21], f4(1)),
              "2^40")
    with_init("init_negative_dim", tensor("W", TensorProto.FLOAT, [-2, 3], f4(1)),
              "negative dimension")
    # 2^16 x 2^16 floats is 16 GiB declared by 4 bytes of data: rejected
    # before anything is allocated.
    with_init("init_huge_dims_tiny_data",
              tensor("W", TensorProto.FLOAT, [1 << 16, 1 << 16], b"\0" * 4),
              "has 4 bytes in raw_data")
    with_init("init_double_dtype", tensor("W", TensorProto.DOUBLE, [2, 3], b"\0" * 48),
              "DOUBLE", MODEL, S_UNSUPPORTED)
    with_init("init_int8_value_out_of_range",
              tensor("W", TensorProto.INT8, [2, 3], int32_data=[1, 2, 300, 4, 5, 6]), "300")
    with_init("init_undefined_dtype", tensor("W", 0, [2, 3], b"\0" * 24), "UNDEFINED")
    # An initializer shorter than dims in the other encoding, and zero-sized.
    g = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")], "g",
                          [vi("X", dims=[1, 0])], [vi("Y", dims=[1, 5])],
                          [tensor("W", TensorProto.FLOAT, [0, 5], b"")])
    write("zero_sized_dims", "model.onnx", model_bytes(g))
    add("zero_sized_dims", "model.onnx", "x.npy", OK, S_OK, "", capi_inputs="auto")
    write("zero_sized_dims", "x.npy", npy(np.zeros((1, 0), np.float32)))
    # Constants above the memory limit fail at load, before allocation.
    g = helper.make_graph([helper.make_node("Add", ["X", "W"], ["Y"], name="add")], "g",
                          [vi("X", dims=[128, 128])], [vi("Y", dims=[128, 128])],
                          [tensor("W", TensorProto.FLOAT, [128, 128], b"\0" * (64 << 10))])
    write("constants_over_memory_limit", "model.onnx", model_bytes(g))
    add("constants_over_memory_limit", "model.onnx", None, INTERNAL, S_OOM,
        "above the memory limit of 16384 bytes", args="--max-memory 16K")
    # Sparse initializers are valid ONNX the engine does not run.
    g = helper.make_graph([helper.make_node("Add", ["X", "S"], ["Y"], name="add")], "g",
                          [vi("X", dims=[4])], [vi("Y", dims=[4])])
    g.sparse_initializer.extend([helper.make_sparse_tensor(
        helper.make_tensor("S", TensorProto.FLOAT, [1], [1.0]),
        helper.make_tensor("S_idx", TensorProto.INT64, [1], [0]), [4])])
    write("sparse_initializer", "model.onnx", model_bytes(g))
    add("sparse_initializer", "model.onnx", None, MODEL, S_UNSUPPORTED, "sparse initializer")


def graph_cases():
    def save(name, graph, cli, capi, fragment, opset=13, inputs=None, capi_inputs="-", args="-",
             domains=()):
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)] +
                              [helper.make_opsetid(d, 1) for d in domains])
        m.ir_version = 8
        write(name, "model.onnx", m.SerializeToString())
        add(name, "model.onnx", inputs, cli, capi, fragment, args=args, capi_inputs=capi_inputs)

    x, y = vi("X", dims=[1, 4]), vi("Y", dims=[1, 4])
    node = helper.make_node
    save("cyclic_graph", helper.make_graph(
        [node("Relu", ["B"], ["A"], name="n1"), node("Relu", ["A"], ["B"], name="n2")],
        "g", [x], [vi("B", dims=[1, 4])]), MODEL, S_MODEL, "topologically sorted")
    save("self_loop", helper.make_graph([node("Add", ["X", "Z"], ["Z"], name="loop")], "g", [x],
                                        [vi("Z", dims=[1, 4])]), MODEL, S_MODEL, "loop")
    save("dangling_input_name", helper.make_graph([node("Relu", ["nope"], ["Y"], name="r")], "g",
                                                  [x], [y]), MODEL, S_MODEL, "nope")
    save("dangling_output_name", helper.make_graph([node("Relu", ["X"], ["Y"], name="r")], "g",
                                                   [x], [vi("ghost", dims=[1, 4])]),
         MODEL, S_MODEL, "ghost")
    save("duplicate_output_names", helper.make_graph(
        [node("Relu", ["X"], ["Y"], name="r")], "g", [x], [y, y]), MODEL, S_MODEL,
        "graph output \"Y\" is declared twice")
    save("duplicate_node_outputs", helper.make_graph(
        [node("Relu", ["X"], ["Y"], name="r1"), node("Sigmoid", ["X"], ["Y"], name="r2")],
        "g", [x], [y]), MODEL, S_MODEL, "'Y'")
    save("duplicate_input_names", helper.make_graph(
        [node("Add", ["X", "X"], ["Y"], name="a")], "g", [x, x], [y]), MODEL, S_MODEL, "'X'")
    w = tensor("W", TensorProto.FLOAT, [1, 4], b"\0" * 16)
    save("duplicate_initializer_names", helper.make_graph(
        [node("Add", ["X", "W"], ["Y"], name="a")], "g", [x], [y], [w, w]), MODEL, S_MODEL,
        "not unique")
    save("output_is_input", helper.make_graph([], "g", [x], [vi("X", dims=[1, 4])]), OK, S_OK,
         "", inputs="x.npy", capi_inputs="auto")
    write("output_is_input", "x.npy", npy(np.ones((1, 4), np.float32)))
    save("unknown_op_default_domain", helper.make_graph(
        [node("NoSuchOp", ["X"], ["Y"], name="bad")], "g", [x], [y]), MODEL, S_MODEL,
        "NoSuchOp")
    save("unknown_op_custom_domain", helper.make_graph(
        [node("Evil", ["X"], ["Y"], name="bad", domain="com.evil")], "g", [x], [y]),
        MODEL, S_UNSUPPORTED, "unsupported operator Evil", domains=["com.evil"])
    save("opset_too_new", relu_graph([1, 4]), MODEL, S_UNSUPPORTED, "opset", opset=99)
    save("opset_zero", relu_graph([1, 4]), MODEL, S_UNSUPPORTED, "opset 0", opset=0)
    save("attribute_wrong_type", helper.make_graph(
        [node("Softmax", ["X"], ["Y"], name="sm", axis=1.5)], "g", [x], [y]), MODEL, S_MODEL,
        "axis")
    save("missing_required_attribute", helper.make_graph(
        [node("Concat", ["X", "X"], ["Y"], name="cat")], "g", [x], [vi("Y", dims=[2, 4])]),
        MODEL, S_MODEL, "axis")
    save("float16_input", helper.make_graph(
        [node("Relu", ["X"], ["Y"], name="r")], "g", [vi("X", TensorProto.FLOAT16, [1, 4])],
        [vi("Y", TensorProto.FLOAT16, [1, 4])]), MODEL, S_UNSUPPORTED, "FLOAT16")
    seq = helper.make_tensor_sequence_value_info("S", TensorProto.FLOAT, [4])
    save("sequence_input", helper.make_graph(
        [node("SequenceLength", ["S"], ["Y"], name="len")], "g", [seq],
        [vi("Y", TensorProto.INT64, [])]), MODEL, S_UNSUPPORTED, "sequence")
    save("negative_declared_input_dim", helper.make_graph(
        [node("Relu", ["X"], ["Y"], name="r")], "g", [vi("X", dims=[1, -4])],
        [vi("Y", dims=["A", "B"])]),
        MODEL, S_MODEL, "negative dimension -4")
    save("rank9_model_input", helper.make_graph(
        [node("Relu", ["X"], ["Y"], name="r")], "g", [vi("X", dims=[1] * 9)],
        [vi("Y", dims=[1] * 9)]), OK, S_UNSUPPORTED, "- | has rank 9", inputs="x.npy")
    write("rank9_model_input", "x.npy", npy(np.ones([1] * 9, np.float32)))
    # Shape errors that only the actual input reveals: symbolic dims accept
    # sizes the weights cannot take.
    w = numpy_helper.from_array(np.ones((32, 10), np.float32), "W")
    save("matmul_k_mismatch", helper.make_graph(
        [node("MatMul", ["X", "W"], ["Y"], name="mm")], "g", [vi("X", dims=["N", "K"])],
        [vi("Y", dims=["N", 10])], [w]), INPUT, S_ARG, "\"mm\"", inputs="x.npy",
        capi_inputs="f32[1,64]@zeros")
    write("matmul_k_mismatch", "x.npy", npy(np.ones((1, 64), np.float32)))
    save("reshape_impossible", helper.make_graph(
        [node("Reshape", ["X", "S"], ["Y"], name="rs")], "g", [vi("X", dims=["N", 4])],
        [vi("Y", dims=["A", "B"])], [numpy_helper.from_array(np.array([3, -1], np.int64), "S")]),
        INPUT, S_ARG, "\"rs\"", inputs="x.npy", capi_inputs="f32[1,4]@zeros")
    write("reshape_impossible", "x.npy", npy(np.ones((1, 4), np.float32)))
    save("gather_index_out_of_range", helper.make_graph(
        [node("Gather", ["X", "I"], ["Y"], name="ga", axis=1)], "g", [vi("X", dims=["N", 4])],
        [vi("Y", dims=["N", 2])], [numpy_helper.from_array(np.array([0, 4], np.int64), "I")]),
        INPUT, S_ARG, "\"ga\"", inputs="x.npy", capi_inputs="f32[1,4]@zeros")
    write("gather_index_out_of_range", "x.npy", npy(np.ones((1, 4), np.float32)))
    # Shapes the file states that contradict each other fail the load naming
    # the node (ONNX shape inference), though the input matches its
    # declaration. Dims the file leaves symbolic take no part.
    save("static_matmul_k_mismatch", helper.make_graph(
        [node("MatMul", ["X", "W"], ["Y"], name="mm")], "g", [vi("X", dims=[1, 4])],
        [vi("Y", dims=[1, 3])], [numpy_helper.from_array(np.ones((5, 3), np.float32), "W")]),
        MODEL, S_MODEL, "MatMul (node \"mm\", ai.onnx opset 13): Incompatible dimensions")
    save("static_matmul_k_mismatch_symbolic_batch", helper.make_graph(
        [node("MatMul", ["X", "W"], ["Y"], name="mm")], "g", [vi("X", dims=["N", 64])],
        [vi("Y", dims=["N", 10])], [w]), MODEL, S_MODEL, "\"X\" [N,64], \"W\" [32,10]")
    save("static_reshape_impossible", helper.make_graph(
        [node("Reshape", ["X", "S"], ["Y"], name="rs")], "g", [vi("X", dims=[1, 4])],
        [vi("Y", dims=["A", "B"])], [numpy_helper.from_array(np.array([3, -1], np.int64), "S")]),
        MODEL, S_MODEL, "Reshape (node \"rs\"")
    save("softmax_axis_out_of_range", helper.make_graph(
        [node("Softmax", ["X"], ["Y"], name="sm", axis=5)], "g", [vi("X", dims=["N", 4])],
        [vi("Y", dims=["N", 4])]), MODEL, S_MODEL, "Softmax (node \"sm\"")
    save("concat_rank_mismatch", helper.make_graph(
        [node("Concat", ["X", "Z"], ["Y"], name="cat", axis=0)], "g",
        [vi("X", dims=["N", 4]), vi("Z", dims=["M"])], [vi("Y", dims=["A", "B"])]),
        MODEL, S_MODEL, "Concat (node \"cat\"")
    # Ranks that crashed libonnx 1.12's shape inference (found by fuzz_model):
    # inference does not run on them; the importer's own guard names the node.
    save("libonnx_gemm6_rank1_operand", helper.make_graph(
        [node("Gemm", ["A", "B", "C"], ["Y"], name="gemm_v6")], "g",
        [vi("A", dims=[2, 3]), vi("B", dims=[3]), vi("C", dims=[4])], [vi("Y", dims=[2, 4])]),
        MODEL, S_MODEL, "Gemm (node \"gemm_v6\", ai.onnx opset 6): input 1 \"B\" has rank 1",
        opset=6)
    save("libonnx_convtranspose_rank2_weight", helper.make_graph(
        [node("ConvTranspose", ["X", "W"], ["Y"], name="deconv")], "g",
        [vi("X", dims=[1, 1, 3, 3]), vi("W", dims=[1, 3])], [vi("Y", dims=[1, 2, 5, 5])]),
        MODEL, S_MODEL,
        "ConvTranspose (node \"deconv\", ai.onnx opset 11): input 1 \"W\" has rank 2", opset=11)
    # Operators the engine lacks inside If branches are listed with the
    # top-level ones, naming the branch (recursively). (LSTM and GRU were the
    # body ops until the engine ran them, issue 14.)
    o = lambda name: vi(name, dims=["a", "b", "c"])
    lstm_inputs = [numpy_helper.from_array(np.ones(s, np.float32), n)
                   for n, s in (("LW", (1, 8, 4)), ("LR", (1, 8, 2)))]
    then_g = helper.make_graph(
        [node("RoiAlign", ["X", "LW", "LR"], ["Yl"], name="/lstm"),
         node("Relu", ["X"], ["Yr"], name="/relu")], "then", [], [o("Yl")])
    inner_then = helper.make_graph([node("NonMaxSuppression", ["X", "LW", "LR"], ["Yg"],
                                         name="/gru")], "inner_then", [], [o("Yg")])
    inner_else = helper.make_graph([node("Identity", ["X"], ["Yi"], name="/id")], "inner_else",
                                   [], [o("Yi")])
    else_g = helper.make_graph(
        [node("If", ["C"], ["Ye"], name="/if_1", then_branch=inner_then,
              else_branch=inner_else)], "else", [], [o("Ye")])
    save("unsupported_ops_in_if_branches", helper.make_graph(
        [node("If", ["C"], ["Y"], name="/if_0", then_branch=then_g, else_branch=else_g)], "g",
        [vi("C", TensorProto.BOOL, []), vi("X", dims=[1, 1, 4])], [o("Y")], lstm_inputs),
        MODEL, S_UNSUPPORTED,
        "unsupported operator RoiAlign (node \"/lstm\", ai.onnx opset 16) in If (node \"/if_0\") "
        "then_branch", opset=16)
    cw = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "W")
    save("conv_stride_zero", helper.make_graph(
        [node("Conv", ["X", "W"], ["Y"], name="conv0", strides=[0, 0])], "g",
        [vi("X", dims=[1, 1, 4, 4])], [vi("Y", dims=["A", "B", "C", "D"])], [cw]),
        MODEL, S_MODEL, "\"conv0\"", opset=11)
    # A long chain: nothing may recurse once per node.
    n = 50000
    nodes = [node("Relu", ["v%d" % i], ["v%d" % (i + 1)], name="n%d" % i) for i in range(n)]
    chain = helper.make_graph(nodes, "deep", [vi("v0", dims=[1, 4])],
                              [vi("v%d" % n, dims=[1, 4])])
    save("deep_graph_50000_nodes", chain, OK, S_OK, "", inputs="x.npy", capi_inputs="auto")
    write("deep_graph_50000_nodes", "x.npy", npy(np.ones((1, 4), np.float32)))
    # A run that needs more than --max-memory (no constants; the Relu output
    # alone is 4 KiB) fails naming the node.
    save("run_over_memory_limit", relu_graph(["N", 1024], node_name="big_relu"), INTERNAL, S_OOM,
         "\"big_relu\"", inputs="x.npy", capi_inputs="f32[1,1024]@zeros", args="--max-memory 1K")
    write("run_over_memory_limit", "x.npy", npy(np.ones((1, 1024), np.float32)))
    # Constant folding would double a 1-element constant 24 times (128 MiB in
    # all). Under a 16 MiB limit folding stops at the limit and the run fails
    # at the first node whose output does not fit, instead of the load
    # allocating it all.
    c = numpy_helper.from_array(np.ones((1,), np.float32), "c0")
    fold = [node("Concat", ["c%d" % i, "c%d" % i], ["c%d" % (i + 1)], name="dbl%d" % i, axis=0)
            for i in range(24)]
    fold.append(node("Add", ["X", "c24"], ["Y"], name="add"))
    save("fold_blowup_over_memory_limit", helper.make_graph(
        fold, "g", [vi("X", dims=[1])], [vi("Y", dims=["K"])], [c]), INTERNAL, S_OOM,
        "memory limit", inputs="x.npy", capi_inputs="f32[1]@zeros", args="--max-memory 16M")
    write("fold_blowup_over_memory_limit", "x.npy", npy(np.ones((1,), np.float32)))


def external_data_cases():
    def ext_model(name, location, dims=(2, 3), offset=None, length=None, extra_files=()):
        t = tensor("W", TensorProto.FLOAT, list(dims))
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", offset), ("length", length)):
            if v is not None:
                e = t.external_data.add()
                e.key, e.value = k, str(v)
        g = helper.make_graph([helper.make_node("Add", ["X", "W"], ["Y"], name="add")], "g",
                              [vi("X", dims=list(dims))], [vi("Y", dims=list(dims))], [t])
        write(name, "model.onnx", model_bytes(g))
        for f, data in extra_files:
            write(name, f, data)

    ok_data = ("w.bin", struct.pack("<6f", *range(6)))
    ext_model("external_dotdot_escape", "../../../../../../etc/passwd")
    add("external_dotdot_escape", "model.onnx", None, MODEL, S_MODEL, "\"..\" is not allowed")
    ext_model("external_absolute_path", "/etc/passwd")
    add("external_absolute_path", "model.onnx", None, MODEL, S_MODEL, "absolute locations")
    ext_model("external_symlink_escape", "link.bin")
    os.symlink("/etc/hostname", os.path.join(case_dir("external_symlink_escape"), "link.bin"))
    add("external_symlink_escape", "model.onnx", None, MODEL, S_MODEL, "outside the model's folder")
    ext_model("external_missing_file", "nothere.bin")
    add("external_missing_file", "model.onnx", None, MODEL, S_IO, "nothere.bin")
    ext_model("external_offset_past_end", "w.bin", offset=20, extra_files=[ok_data])
    add("external_offset_past_end", "model.onnx", None, MODEL, S_MODEL, "past the end")
    ext_model("external_offset_overflow", "w.bin", offset=2 ** 64 - 1, extra_files=[ok_data])
    add("external_offset_overflow", "model.onnx", None, MODEL, S_MODEL, "past the end")
    ext_model("external_offset_not_a_number", "w.bin", offset=-5, extra_files=[ok_data])
    add("external_offset_not_a_number", "model.onnx", None, MODEL, S_MODEL,
        "not a non-negative integer")
    ext_model("external_length_mismatch", "w.bin", length=8, extra_files=[ok_data])
    add("external_length_mismatch", "model.onnx", None, MODEL, S_MODEL, "has length 8")
    ext_model("external_dims_larger_than_file", "w.bin", dims=(1024, 1024), extra_files=[ok_data])
    add("external_dims_larger_than_file", "model.onnx", None, MODEL, S_MODEL, "past the end")
    ext_model("external_location_is_folder", "sub", extra_files=[("sub/keep", b"x")])
    add("external_location_is_folder", "model.onnx", None, MODEL, S_MODEL, "not a regular file")
    ext_model("external_no_location", "", extra_files=[ok_data])
    add("external_no_location", "model.onnx", None, MODEL, S_MODEL, "has no location")


def input_cases(mlp):
    """Against cases/common/mlp.onnx: X float[N,8]."""
    def inp(name, files, cli, capi, fragment, capi_inputs="-", model=mlp, args="-"):
        add(name, model, " ".join(f for f, _ in files) or None, cli, capi, fragment, args=args,
            capi_inputs=capi_inputs)
        for f, data in files:
            if data is not None:
                write(name, f, data)

    ones = np.ones((1, 8), np.float32)
    inp("input_wrong_dtype", [("x.npy", npy(ones.astype(np.int64)))], INPUT, S_ARG,
        "holds int64 | has dtype int64", capi_inputs="i64[1,8]@zeros")
    inp("input_unknown_dtype_enum", [("x.npy", raw_npy("<f8", "(1, 8)", data=b"\0" * 64))],
        INPUT, S_ARG, "unsupported .npy dtype '<f8' | unknown dtype 11", capi_inputs="dt11[1,8]@zeros")
    inp("input_bin_partial_row", [("x.bin", b"\0" * 36)], INPUT, S_ARG,
        "not a whole number of rows | size_bytes 36", capi_inputs="f32[1,8]@zeros+4")
    inp("input_wrong_shape", [("x.npy", npy(np.ones((1, 7), np.float32)))], INPUT, S_ARG,
        "does not accept it | expects shape", capi_inputs="f32[1,7]@zeros")
    inp("input_wrong_rank", [("x.npy", npy(np.ones((8,), np.float32)))], INPUT, S_ARG,
        "does not accept it | expects shape", capi_inputs="f32[8]@zeros")
    inp("input_too_many", [("a.npy", npy(ones)), ("b.npy", npy(ones))], INPUT, S_ARG,
        "1 input | n_inputs is 2", capi_inputs="f32[1,8]@zeros f32[1,8]@zeros")
    inp("input_missing", [], INPUT, S_ARG, "input | n_inputs is 0", capi_inputs="none")
    # No file format can state a negative dim.
    inp("input_negative_dim", [], "-", S_ARG, "- | negative dimension",
        capi_inputs="f32[-1,8]@zeros")
    inp("input_huge_dims", [("x.npy", raw_npy("<f4", "(1099511627776000, 8)"))], INPUT, S_ARG,
        "2^40", capi_inputs="f32[1099511627776000,8]@zeros")
    inp("input_dims_product_overflow",
        [("x.npy", raw_npy("<f4", "(4294967296, 4294967297)"))], INPUT, S_ARG, "2^40",
        capi_inputs="f32[4294967296,4294967297]@zeros")
    # Empty, so allowed, but the other dims multiply past int64.
    inp("input_zero_dim_beside_huge_dims",
        [("x.npy", raw_npy("<f4", "(0, 4294967296, 4294967297)"))], INPUT, S_ARG,
        "does not accept it | expects shape", capi_inputs="f32[0,4294967296,4294967297]@zeros")
    inp("input_rank9_capi", [], "-", S_ARG, "- | has rank 9",
        capi_inputs="f32[1,1,1,1,1,1,1,1,1]@zeros")
    inp("input_null_data", [], "-", S_ARG, "- | data NULL", capi_inputs="f32[1,8]@null")
    inp("input_zero_rows", [("x.npy", npy(np.ones((0, 8), np.float32)))], OK, S_OK, "",
        capi_inputs="f32[0,8]@zeros")
    inp("input_nan_inf", [("x.npy", npy(np.array([[np.nan, np.inf, -np.inf, 0, -0.0, 1e38,
                                                   -1e38, 1e-45]], np.float32)))],
        OK, S_OK, "", capi_inputs="f32[1,8]@x.bin")
    write("input_nan_inf", "x.bin", np.array([[np.nan, np.inf, -np.inf, 0, -0.0, 1e38, -1e38,
                                               1e-45]], np.float32).tobytes())
    inp("npy_truncated_data", [("x.npy", npy(ones)[:-5])], INPUT, "-", "truncated")
    inp("npy_bad_magic", [("x.npy", b"\x93NUMPX" + npy(ones)[6:])], INPUT, "-", "magic")
    inp("npy_fortran_order", [("x.npy", raw_npy("<f4", "(1, 8)", True, b"\0" * 32))], INPUT,
        "-", "Fortran order")
    inp("npy_header_length_overrun", [("x.npy", b"\x93NUMPY\x01\x00\xff\xff{'descr'")], INPUT,
        "-", "runs past the end")
    inp("npy_version_9", [("x.npy", b"\x93NUMPY\x09\x00" + npy(ones)[8:])], INPUT, "-",
        "format version 9")
    inp("npy_shape_not_a_tuple", [("x.npy", raw_npy("<f4", "8", data=b"\0" * 32))], INPUT, "-",
        "malformed .npy header")
    pb = numpy_helper.from_array(ones, "X").SerializeToString()
    inp("pb_garbage", [("x.pb", b"\xff" * 16)], INPUT, "-", "not a valid serialized")
    inp("pb_truncated", [("x.pb", pb[:-7])], INPUT, "-", "x.pb")
    t = tensor("X", TensorProto.FLOAT, [1 << 16, 1 << 16], b"")
    inp("pb_huge_dims_no_data", [("x.pb", t.SerializeToString())], INPUT, "-",
        "has 0 bytes in raw_data")
    t = tensor("X", TensorProto.FLOAT, [1, 8])
    t.data_location = TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "/etc/passwd"
    inp("pb_external_data", [("x.pb", t.SerializeToString())], INPUT, "-", "external data")
    inp("input_file_missing", [("nothere.npy", None)], INPUT, "-", "nothere.npy")
    inp("input_unknown_extension", [("x.txt", b"1 2 3")], INPUT, "-", "unknown input file type")
    inp("input_is_directory", [("sets", None)], INPUT, "-",
        "sets is a directory, not an input file (input sets in the ONNX test layout")
    write("input_is_directory", "sets/test_data_set_0/input_0.pb",
          numpy_helper.from_array(ones, "X").SerializeToString())
    inp("bin_bool_not_0_or_1", [("b.bin", b"\x00\x01\x02\x01")], INPUT, "-", "not a bool",
        model="../common/bool_identity.onnx")
    inp("bad_max_memory_value", [("x.npy", npy(ones))], USAGE, "-", "--max-memory",
        args="--max-memory 12X")


def main():
    if os.path.isdir(CASES):
        shutil.rmtree(CASES)
    os.makedirs(CASES)
    mlp = common()
    file_level_cases(mlp)
    initializer_cases()
    graph_cases()
    external_data_cases()
    input_cases(mlp)
    random_bytes = bytes(random.Random(7).randrange(256) for _ in range(1024))
    write("random_bytes", "model.onnx", random_bytes)
    add("random_bytes", "model.onnx", None, MODEL, S_MODEL, "not a valid ONNX model")
    names = [r[0] for r in rows]
    assert len(names) == len(set(names)), "duplicate case names"
    # Git keeps no empty folder, and the test runs each case from its own.
    for name in names:
        d = case_dir(name)
        if not os.listdir(d):
            with open(os.path.join(d, "NO_FILES.txt"), "w") as f:
                f.write("This case brings no files of its own (see ../../cases.tsv); "
                        "the folder is where the test runs it from.\n")
    with open(os.path.join(HERE, "cases.tsv"), "w") as f:
        f.write("# Generated by make_cases.py; see its docstring for the columns.\n")
        f.write("\t".join(["case", "model", "inputs", "args", "capi_inputs", "cli_exit",
                           "capi_status", "fragment"]) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    print("%d cases" % len(rows))


if __name__ == "__main__":
    main()

// Prints docs/operators.md from the op registry: every registered op with its
// domain, opset range, element types and zero rule.
//
// Element types are measured, not declared: each op runs once per dtype on a
// small input through a real Session, and the dtypes that run are listed. A
// hand-kept list would drift from the kernels silently; a probe cannot, and
// the docs ctest (`--check`) turns any drift into a failing test. Ops whose
// inputs are not "one tensor of the data type" get a recipe below; an op no
// probe can run is an error, so a new op cannot be documented with no types.
//
//   gen_operator_docs                  print the page
//   gen_operator_docs --check FILE     exit 1 if FILE differs from the page
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/graph.h"
#include "engine/ops/registry.h"
#include "engine/single_node.h"

namespace si {
namespace {

const DType kDtypes[] = {DType::kFloat32, DType::kInt64, DType::kInt32,
                         DType::kInt8,    DType::kUint8, DType::kBool};

// A [shape] tensor of `t` holding small non-zero values (1, 2, 3, 1, ...), so
// integer Div and Mod probes cannot trap.
Tensor filled(DType t, const Shape &shape, std::vector<double> values = {}) {
  Tensor out;
  if (!Tensor::allocate(t, shape, &out).is_ok()) return Tensor();
  for (int64_t i = 0; i < out.numel(); ++i) {
    const double v = values.empty() ? double(1 + i % 3) : values[size_t(i) % values.size()];
    switch (t) {
      case DType::kFloat32:
        out.data<float>()[i] = float(v);
        break;
      case DType::kInt64:
        out.data<int64_t>()[i] = int64_t(v);
        break;
      case DType::kInt32:
        out.data<int32_t>()[i] = int32_t(v);
        break;
      case DType::kInt8:
        out.data<int8_t>()[i] = int8_t(v);
        break;
      case DType::kUint8:
        out.data<uint8_t>()[i] = uint8_t(v);
        break;
      case DType::kBool:
        out.data<bool>()[i] = i % 2 == 0;
        break;
      case DType::kUndefined:
        break;
    }
  }
  return out;
}

Tensor i64(const Shape &shape, std::vector<double> values) {
  return filled(DType::kInt64, shape, std::move(values));
}

// A recipe's inputs, attributes and output count; run_probe names the op.
using Probe = SingleNode;

Probe probe(std::vector<Tensor> inputs, std::vector<bool> constant = {}) {
  Probe p;
  p.inputs = std::move(inputs);
  p.constant = std::move(constant);
  return p;
}

using Recipe = std::function<Probe(DType)>;

// Inputs the default probe (one [2, 3] tensor of the dtype) cannot run.
const std::map<std::string, Recipe> &recipes() {
  static const std::map<std::string, Recipe> table = [] {
    std::map<std::string, Recipe> r;
    const auto binary = [](DType t) { return probe({filled(t, {2, 3}), filled(t, {3})}); };
    for (const char *op :
         {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Equal", "Less",
          "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "PRelu"})
      r[op] = binary;
    const auto matmul = [](DType t) { return probe({filled(t, {2, 3}), filled(t, {3, 2})}); };
    r["MatMul"] = matmul;
    r["Gemm"] = matmul;
    r["Einsum"] = [](DType t) {
      Probe p = probe({filled(t, {2, 3}), filled(t, {3, 2})});
      p.attrs["equation"] = attr_string("ij,jk->ik");
      return p;
    };
    r["FusedGemm"] = [](DType t) {
      Probe p = probe({filled(t, {2, 3}), filled(t, {3, 2})}, {false, true});
      p.attrs["activation"] = attr_string("");
      return p;
    };
    // Quantized weights (issue 13): t is A's dtype; codes and scales are fixed.
    r["MatMulNBits"] = [](DType t) {
      Probe p = probe(
          {filled(t, {2, 16}), filled(DType::kUint8, {2, 1, 8}), filled(DType::kFloat32, {2})},
          {false, true, true});
      p.attrs["K"] = attr_int(16);
      p.attrs["N"] = attr_int(2);
      p.attrs["block_size"] = attr_int(16);
      return p;
    };
    r["QuantMatMul"] = [](DType t) {
      Probe p =
          probe({filled(t, {2, 3}), filled(DType::kInt8, {3, 2}), filled(DType::kFloat32, {})},
                {false, true, true});
      p.attrs["source"] = attr_string("DequantizeLinear");
      return p;
    };
    r["Where"] = [](DType t) {
      return probe({filled(DType::kBool, {2, 3}), filled(t, {2, 3}), filled(t, {3})});
    };
    // Control flow: bodies that pass a value of the dtype through (a capture
    // for If, a loop-carried value for Loop, a scan slice for Scan).
    const auto body = [](DType t, std::vector<DType> inputs, bool capture) {
      Subgraph b;
      b.graph = std::make_shared<Graph>();
      Graph &g = *b.graph;
      for (size_t i = 0; i < inputs.size(); ++i) {
        ValueInfo v;
        v.name = "b" + std::to_string(i);
        v.dtype = inputs[i];
        g.inputs.push_back(g.add_value(v));
      }
      if (capture) {
        ValueInfo v;
        v.name = "x";
        v.dtype = t;
        g.captures.push_back(g.add_value(v));
        b.capture_inputs.push_back(1);
      }
      if (inputs.size() > 1) g.outputs.push_back(g.inputs[1]);  // Loop's cond
      g.outputs.push_back(capture ? g.captures[0] : g.inputs.back());
      return b;
    };
    r["If"] = [body](DType t) {
      Probe p = probe({filled(DType::kBool, {}), filled(t, {2, 3})});
      for (const char *attr : {"then_branch", "else_branch"}) {
        p.subgraphs.push_back(body(t, {}, true));
        p.subgraphs.back().attr = attr;
      }
      return p;
    };
    r["Loop"] = [body](DType t) {
      Probe p = probe({i64({}, {2}), filled(DType::kBool, {}, {1}), filled(t, {2, 3})});
      p.subgraphs.push_back(body(t, {DType::kInt64, DType::kBool, t}, false));
      p.subgraphs.back().attr = "body";
      return p;
    };
    r["Scan"] = [body](DType t) {
      Probe p = probe({filled(t, {2, 3})});
      p.attrs["num_scan_inputs"] = attr_int(1);
      p.subgraphs.push_back(body(t, {t}, false));
      p.subgraphs.back().attr = "body";
      return p;
    };
    r["Cast"] = [](DType t) {
      Probe p = probe({filled(t, {2, 3})});
      p.attrs["to"] = attr_int(int64_t(DType::kFloat32));
      return p;
    };
    const auto conv = [](DType t) {
      return probe({filled(t, {1, 1, 3, 3}), filled(t, {1, 1, 2, 2})}, {false, true});
    };
    // seq 2, batch 1, input 3, hidden 2; constant weights (the packed path).
    for (const auto &[op, gates] :
         {std::pair<const char *, int64_t>{"LSTM", 4}, {"GRU", 3}, {"RNN", 1}}) {
      r[op] = [gates = gates](DType t) {
        return probe(
            {filled(t, {2, 1, 3}), filled(t, {1, gates * 2, 3}), filled(t, {1, gates * 2, 2})},
            {false, true, true});
      };
    }
    r["Conv"] = conv;
    r["ConvTranspose"] = conv;
    r["FusedConv"] = conv;
    const auto pool = [](DType t) {
      Probe p = probe({filled(t, {1, 1, 3, 3})});
      p.attrs["kernel_shape"] = attr_ints({2, 2});
      return p;
    };
    r["MaxPool"] = pool;
    r["AveragePool"] = pool;
    const auto global_pool = [](DType t) { return probe({filled(t, {1, 1, 3, 3})}); };
    r["GlobalMaxPool"] = global_pool;
    r["GlobalAveragePool"] = global_pool;
    r["BatchNormalization"] = [](DType t) {
      return probe(
          {filled(t, {1, 2, 3}), filled(t, {2}), filled(t, {2}), filled(t, {2}), filled(t, {2})},
          {false, true, true, true, true});
    };
    r["LayerNormalization"] = [](DType t) {
      return probe({filled(t, {2, 3}), filled(t, {3})}, {false, true});
    };
    r["Reshape"] = [](DType t) { return probe({filled(t, {2, 3}), i64({1}, {6})}, {false, true}); };
    r["Gather"] = [](DType t) { return probe({filled(t, {2, 3}), i64({1}, {0})}, {false, true}); };
    r["Unsqueeze"] = [](DType t) {
      return probe({filled(t, {2, 3}), i64({1}, {0})}, {false, true});
    };
    r["Squeeze"] = [](DType t) { return probe({filled(t, {1, 3}), i64({1}, {0})}, {false, true}); };
    r["Concat"] = [](DType t) {
      Probe p = probe({filled(t, {2, 3}), filled(t, {1, 3})});
      p.attrs["axis"] = attr_int(0);
      return p;
    };
    r["Split"] = [](DType t) {
      Probe p = probe({filled(t, {2, 3})});
      p.num_outputs = 2;
      return p;
    };
    r["Slice"] = [](DType t) {
      return probe({filled(t, {2, 3}), i64({1}, {0}), i64({1}, {1})}, {false, true, true});
    };
    r["Expand"] = [](DType t) {
      return probe({filled(t, {1, 3}), i64({2}, {2, 3})}, {false, true});
    };
    r["Tile"] = [](DType t) { return probe({filled(t, {2, 3}), i64({2}, {1, 2})}, {false, true}); };
    r["Pad"] = [](DType t) {
      return probe({filled(t, {2, 3}), i64({4}, {0, 1, 0, 1})}, {false, true});
    };
    r["ConstantOfShape"] = [](DType t) {
      Probe p = probe({i64({2}, {2, 3})}, {true});
      p.attrs["value"].kind = Attribute::Kind::kTensor;
      p.attrs["value"].t = filled(t, {1});
      return p;
    };
    r["Range"] = [](DType t) {
      return probe({filled(t, {}, {0}), filled(t, {}, {3}), filled(t, {}, {1})});
    };
    const auto resize = [](DType t) {
      return probe({filled(t, {1, 1, 2, 2}), Tensor(), filled(DType::kFloat32, {4}, {1, 1, 2, 2})},
                   {false, true, true});
    };
    r["Resize"] = resize;
    r["Upsample"] = [](DType t) {
      return probe({filled(t, {1, 1, 2, 2}), filled(DType::kFloat32, {4}, {1, 1, 2, 2})},
                   {false, true});
    };
    // Sequence ops: a sequence input holds [2, 3] tensors of the dtype.
    const auto seq = [](DType t) {
      return Tensor::sequence(t, {filled(t, {2, 3}), filled(t, {2, 3})});
    };
    r["SequenceEmpty"] = [](DType t) {
      Probe p = probe({});
      p.attrs["dtype"] = attr_int(int64_t(t));
      return p;
    };
    r["SequenceConstruct"] = [](DType t) { return probe({filled(t, {2, 3}), filled(t, {2, 3})}); };
    r["SequenceInsert"] = [seq](DType t) { return probe({seq(t), filled(t, {2, 3})}); };
    r["SequenceErase"] = [seq](DType t) { return probe({seq(t)}); };
    r["SequenceAt"] = [seq](DType t) { return probe({seq(t), i64({}, {1})}); };
    r["SequenceLength"] = [seq](DType t) { return probe({seq(t)}); };
    r["ConcatFromSequence"] = [seq](DType t) {
      Probe p = probe({seq(t)});
      p.attrs["axis"] = attr_int(0);
      return p;
    };
    // Issue 14's indexing, scatter, layout and math ops.
    r["Mod"] = [binary](DType t) {
      Probe p = binary(t);
      p.attrs["fmod"] = attr_int(1);  // float32 needs it; integers take either
      return p;
    };
    r["BitShift"] = [binary](DType t) {
      Probe p = binary(t);
      p.attrs["direction"] = attr_string("LEFT");
      return p;
    };
    r["GatherElements"] = [](DType t) {
      return probe({filled(t, {2, 3}), i64({2, 3}, {0})}, {false, true});
    };
    r["GatherND"] = [](DType t) {
      return probe({filled(t, {2, 3}), i64({1, 1}, {1})}, {false, true});
    };
    r["OneHot"] = [](DType t) {
      return probe({i64({3}, {0, 1, 2}), i64({}, {3}), filled(t, {2})}, {false, true, true});
    };
    r["TopK"] = [](DType t) {
      Probe p = probe({filled(t, {2, 3}), i64({1}, {2})}, {false, true});
      p.num_outputs = 2;
      return p;
    };
    r["CumSum"] = [](DType t) { return probe({filled(t, {2, 3}), i64({}, {1})}, {false, true}); };
    const auto scatter = [](DType t) {
      return probe({filled(t, {2, 3}), i64({1, 3}, {1}), filled(t, {1, 3})}, {false, true, false});
    };
    r["Scatter"] = scatter;
    r["ScatterElements"] = scatter;
    r["ScatterND"] = [](DType t) {
      return probe({filled(t, {2, 3}), i64({1, 1}, {1}), filled(t, {1, 3})}, {false, true, false});
    };
    r["DepthToSpace"] = [](DType t) {
      Probe p = probe({filled(t, {1, 4, 1, 1})});
      p.attrs["blocksize"] = attr_int(2);
      return p;
    };
    r["SpaceToDepth"] = [](DType t) {
      Probe p = probe({filled(t, {1, 1, 2, 2})});
      p.attrs["blocksize"] = attr_int(2);
      return p;
    };
    r["InstanceNormalization"] = [](DType t) {
      return probe({filled(t, {1, 2, 3}), filled(t, {2}), filled(t, {2})}, {false, true, true});
    };
    // Linear quantization (issue 13): the dtype is x's; scales are float32.
    r["DequantizeLinear"] = [](DType t) {
      return probe({filled(t, {2, 3}), filled(DType::kFloat32, {}, {0.5}), filled(t, {}, {1})});
    };
    r["QuantizeLinear"] = [](DType t) {
      return probe(
          {filled(t, {2, 3}), filled(DType::kFloat32, {}, {0.5}), filled(DType::kInt8, {}, {1})});
    };
    r["DynamicQuantizeLinear"] = [](DType t) {
      Probe p = probe({filled(t, {2, 3})});
      p.num_outputs = 3;
      return p;
    };
    r["MatMulInteger"] = matmul;
    return r;
  }();
  return table;
}

// Runs the probe once as the registered op at its newest opset.
Status run_probe(const OpRegistration &reg, Probe spec) {
  spec.op_type = reg.op_type;
  spec.name = "probe";
  spec.domain = reg.domain;
  spec.opset = reg.until_opset;
  SessionOptions options;
  options.threads = 1;
  options.optimize = false;  // the op under probe, not a folded constant
  std::vector<Tensor> outputs;
  return run_single_node(spec, options, &outputs);
}

// The rule as one cell: its name, the condition of a predicate, and which
// inputs count where only some carry data.
std::string zero_rule_cell(const ZeroRule &rule) {
  std::string cell = zero_kind_name(rule.kind);
  if (rule.condition != nullptr) cell += std::string(" ") + rule.condition;
  if (rule.kind != ZeroKind::kView && rule.data_inputs == 1) cell += ", data: input 0";
  return cell;
}

Status generate(std::string *page) {
  std::vector<const OpRegistration *> rows;
  for (const OpRegistration &r : op_table()) rows.push_back(&r);
  std::sort(rows.begin(), rows.end(), [](const OpRegistration *a, const OpRegistration *b) {
    const int d = std::strcmp(a->domain, b->domain);
    if (d != 0) return d < 0;
    const int o = std::strcmp(a->op_type, b->op_type);
    return o != 0 ? o < 0 : a->since_opset < b->since_opset;
  });
  std::ostringstream out;
  out << "# Operators\n\n"
      << "Generated from the op registry (`engine/ops/registry.cc`) by `tools/gen_operator_docs`;\n"
      << "do not edit by hand. After adding or changing an op, regenerate with\n\n"
      << "    build/tools/gen_operator_docs > docs/operators.md\n\n"
      << "(the `operator_docs` test fails while this page is stale).\n\n"
      << "- **Opsets**: the opset versions of the domain the entry serves.\n"
      << "- **Dtypes**: element types of the data input(s) measured by running the op once per\n"
      << "  type on a small input through a real session (index and shape inputs stay int64;\n"
      << "  the probes are in `tools/gen_operator_docs.cc`). Where an op has several paths\n"
      << "  (constant weights on oneDNN, runtime weights on the reference), one path is probed.\n"
      << "- **Zero rule**: what the op does to exact zeros, as `mark_sparsity` reads it from the\n"
      << "  registry. *producer*: its output is exactly zero for a whole range of inputs (a\n"
      << "  condition follows when attributes or constant inputs decide it); *consumer*: a matmul\n"
      << "  that skips the zero rows of its input (when the weight is a constant 2-D float32\n"
      << "  matrix, or int8/int4 codes for MatMulNBits and QuantMatMul); *view*: aliases its data "
         "input keeping the last axis, so active-row indices\n"
      << "  ride through; *zero-preserving (all inputs)*: the output is zero where every data\n"
      << "  input is, so it carries zeros when all of them do (Add; one-input element moves);\n"
      << "  *zero-preserving (any input)*: the output keeps the zeros of each data input, so it\n"
      << "  carries zeros when any does (Mul's zero factor, Concat's parts); *data: input 0*: "
         "only\n"
      << "  input 0 counts, any others are shapes, axes or indices; *none*: zeros are not tracked\n"
      << "  through it.\n"
      << "- Domain `com.sparse_infer` holds the ops graph passes create (`engine/passes/`); "
         "models\n"
      << "  do not name them.\n\n"
      << "| Op | Domain | Opsets | Dtypes | Zero rule |\n"
      << "|---|---|---|---|---|\n";
  for (const OpRegistration *r : rows) {
    const auto it = recipes().find(r->op_type);
    std::vector<std::string> ran;
    Status first_error;
    for (DType t : kDtypes) {
      const Probe spec = it != recipes().end() ? it->second(t) : probe({filled(t, {2, 3})});
      const Status st = run_probe(*r, spec);
      if (st.is_ok()) {
        ran.push_back(dtype_name(t));
      } else if (first_error.is_ok()) {
        first_error = st;
      }
    }
    if (ran.empty()) {
      return internal_error(std::string("no probe of ") + r->op_type +
                            " ran with any dtype (float32: " + first_error.message() +
                            "): give it a recipe in tools/gen_operator_docs.cc");
    }
    std::string dtypes;
    for (const std::string &d : ran) dtypes += (dtypes.empty() ? "" : ", ") + d;
    const std::string opsets =
        r->since_opset == r->until_opset
            ? std::to_string(r->since_opset)
            : std::to_string(r->since_opset) + "-" + std::to_string(r->until_opset);
    out << "| " << r->op_type << " | " << (*r->domain ? r->domain : "ai.onnx") << " | " << opsets
        << " | " << dtypes << " | " << zero_rule_cell(r->zeros) << " |\n";
  }
  *page = out.str();
  return Status::ok();
}

// 1-based line of the first difference between a and b.
size_t first_diff_line(const std::string &a, const std::string &b) {
  size_t line = 1;
  for (size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i)
    if (a[i] == '\n') ++line;
  return line;
}

std::string line_at(const std::string &text, size_t line) {
  std::istringstream in(text);
  std::string s;
  for (size_t i = 0; i < line && std::getline(in, s); ++i) {
  }
  return s;
}

}  // namespace
}  // namespace si

int main(int argc, char **argv) {
  const bool check = argc == 3 && std::strcmp(argv[1], "--check") == 0;
  if (argc != 1 && !check) {
    std::fprintf(stderr, "usage: %s [--check docs/operators.md]\n", argv[0]);
    return 2;
  }
  std::string page;
  const si::Status st = si::generate(&page);
  if (!st.is_ok()) {
    std::fprintf(stderr, "gen_operator_docs: %s\n", st.message().c_str());
    return 1;
  }
  if (!check) {
    std::fwrite(page.data(), 1, page.size(), stdout);
    return 0;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream file;
  file << in.rdbuf();
  if (!in) {
    std::fprintf(stderr, "cannot read %s; create it from the build directory with:\n  %s > %s\n",
                 argv[2], argv[0], argv[2]);
    return 1;
  }
  if (file.str() == page) return 0;
  const size_t line = si::first_diff_line(file.str(), page);
  std::fprintf(stderr,
               "%s is stale (first difference at line %zu)\n  file:      %s\n  generated: %s\n"
               "Regenerate it from the build directory with:\n  %s > %s\n",
               argv[2], line, si::line_at(file.str(), line).c_str(),
               si::line_at(page, line).c_str(), argv[0], argv[2]);
  return 1;
}

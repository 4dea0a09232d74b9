// GraphProto -> Graph: values by name, initializers and Constant nodes as
// constants, nodes with their opset and attributes.
#include <algorithm>
#include <unordered_map>

#include "importers/onnx/internal.h"

namespace si::onnx_import {

namespace {

std::string quoted(const std::string &s) {
  return "\"" + s + "\"";
}

// Bodies nest at most this deep: deeper is far beyond any real model, and
// each level costs a converter frame and, at run time, an executor frame.
constexpr int kMaxBodyDepth = 32;

// A body's declared input or output: a tensor as declared, or a name alone
// when the body leaves its type out (ONNX lets a body's types be inferred).
Status body_value_info(const onnx::ValueInfoProto &proto, const std::string &what, ValueInfo *out) {
  const onnx::TypeProto &t = proto.type();
  if (t.value_case() == onnx::TypeProto::VALUE_NOT_SET ||
      (t.value_case() == onnx::TypeProto::kTensorType && t.tensor_type().elem_type() == 0)) {
    out->name = proto.name();
    return Status::ok();
  }
  return declared_value_info(proto, what, out);
}

class Converter {
 public:
  // `parent`: the converter of the enclosing graph when `g` is a body, whose
  // values (and its parents') the body may read by name.
  Converter(const onnx::GraphProto &g, const OpsetMap &opsets, const std::string &base_dir,
            Converter *parent = nullptr, int depth = 0)
      : g_(g), opsets_(opsets), base_dir_(base_dir), parent_(parent), depth_(depth) {
    for (const onnx::ValueInfoProto &vi : g.value_info()) inferred_[vi.name()] = &vi;
  }

  Status run(const std::vector<onnx::ValueInfoProto> &declared_outputs, Graph *out) {
    if (g_.sparse_initializer_size() > 0) {
      return unsupported("sparse initializer " + quoted(g_.sparse_initializer(0).values().name()) +
                         " is not supported");
    }
    SI_RETURN_IF_ERROR(add_initializers());
    SI_RETURN_IF_ERROR(add_inputs());
    SI_RETURN_IF_ERROR(add_node_outputs());
    SI_RETURN_IF_ERROR(add_nodes());
    SI_RETURN_IF_ERROR(add_outputs(declared_outputs));
    *out = std::move(graph_);
    return Status::ok();
  }

  // A body: its inputs and outputs as declared, names it does not define
  // bound to the enclosing graphs' values. `outer_ids[k]` is the parent's value
  // feeding out->captures[k].
  Status run_body(Graph *out, std::vector<int> *outer_ids) {
    SI_RETURN_IF_ERROR(run({g_.output().begin(), g_.output().end()}, out));
    *outer_ids = std::move(outer_ids_);
    return Status::ok();
  }

  // The id of `name` in this graph, or -1. A name this graph does not define
  // but an enclosing one does becomes a capture here (a constant is copied in
  // instead, so that passes inside the body see it as one: the weight of a
  // Gemm inside a branch is usually an initializer of the main graph).
  int resolve(const std::string &name) {
    int id = graph_.find_value(name);
    if (id >= 0 || parent_ == nullptr) return id;
    int outer = parent_->resolve(name);
    if (outer < 0) return -1;
    id = graph_.add_value(parent_->graph_.values[size_t(outer)]);
    if (const Tensor *t = parent_->graph_.constant(outer)) {
      graph_.constants[id] = *t;
    } else {
      graph_.captures.push_back(id);
      outer_ids_.push_back(outer);
    }
    return id;
  }

 private:
  Status add_initializers() {
    for (const onnx::TensorProto &init : g_.initializer()) {
      const std::string label = "initializer " + quoted(init.name());
      if (init.name().empty()) return invalid_model("an initializer has no name");
      if (graph_.find_value(init.name()) >= 0) return invalid_model(label + " is defined twice");
      Tensor t;
      SI_RETURN_IF_ERROR(tensor_from_proto(init, label, base_dir_, &t));
      int id = graph_.add_value(exact_value_info(init.name(), t));
      graph_.constants[id] = std::move(t);
    }
    return Status::ok();
  }

  Status add_inputs() {
    for (const onnx::ValueInfoProto &in : g_.input()) {
      int existing = graph_.find_value(in.name());
      // Before IR version 4 every initializer is also listed as an input.
      if (graph_.is_constant(existing)) continue;
      if (existing >= 0)
        return invalid_model("graph input " + quoted(in.name()) + " is declared twice");
      if (in.name().empty()) return invalid_model("a graph input has no name");
      ValueInfo info;
      if (parent_ != nullptr) {
        SI_RETURN_IF_ERROR(body_value_info(in, "body input", &info));
      } else {
        SI_RETURN_IF_ERROR(declared_value_info(in, "graph input", &info));
      }
      graph_.inputs.push_back(graph_.add_value(std::move(info)));
    }
    return Status::ok();
  }

  Status node_header(int index, Node *n) { return onnx_import::node_header(g_, index, opsets_, n); }

  static bool is_constant_node(const Node &n) {
    return n.domain.empty() && n.op_type == "Constant";
  }

  // Declares every node output first: a node may read a value produced by a
  // node later in the file; ordering is the planner's job.
  Status add_node_outputs() {
    for (int i = 0; i < g_.node_size(); ++i) {
      const onnx::NodeProto &p = g_.node(i);
      Node n;
      SI_RETURN_IF_ERROR(node_header(i, &n));
      for (const std::string &name : p.output()) {
        if (name.empty()) continue;
        if (graph_.find_value(name) >= 0) {
          return invalid_model(n.describe() + " produces " + quoted(name) +
                               ", which is already a graph input, an initializer or another "
                               "node's output");
        }
        ValueInfo info;
        info.name = name;
        auto inf = inferred_.find(name);
        if (inf != inferred_.end()) merge_inferred_value_info(*inf->second, &info);
        graph_.add_value(std::move(info));
      }
      if (is_constant_node(n)) {
        if (p.input_size() != 0 || p.output_size() != 1 || p.output(0).empty()) {
          return invalid_model(n.describe() + " must have no inputs and one output");
        }
        Tensor t;
        SI_RETURN_IF_ERROR(constant_node_value(p, n.describe(), base_dir_, &t));
        int id = graph_.find_value(p.output(0));
        graph_.values[size_t(id)] = exact_value_info(p.output(0), t);
        graph_.constants[id] = std::move(t);
      }
    }
    return Status::ok();
  }

  Status add_nodes() {
    for (int i = 0; i < g_.node_size(); ++i) {
      const onnx::NodeProto &p = g_.node(i);
      Node n;
      SI_RETURN_IF_ERROR(node_header(i, &n));
      if (is_constant_node(n)) continue;
      for (const std::string &name : p.input()) {
        int id = name.empty() ? -1 : resolve(name);
        if (!name.empty() && id < 0) {
          return invalid_model(n.describe() + " reads " + quoted(name) +
                               ", which is not a graph input, an initializer or any node's "
                               "output" +
                               (parent_ ? " of its body or of an enclosing graph" : ""));
        }
        n.inputs.push_back(id);
      }
      for (const std::string &name : p.output()) {
        n.outputs.push_back(name.empty() ? -1 : graph_.find_value(name));
      }
      for (const onnx::AttributeProto &a : p.attribute()) {
        Attribute attr;
        bool kept = false;
        SI_RETURN_IF_ERROR(attribute_from_proto(a, n.describe(), base_dir_, &kept, &attr));
        if (kept) n.attrs[a.name()] = std::move(attr);
      }
      SI_RETURN_IF_ERROR(add_bodies(p, &n));
      graph_.nodes.push_back(std::move(n));
    }
    return Status::ok();
  }

  // Converts each graph attribute of `p` into a body of `n`; the values the
  // bodies capture become `n`'s inputs after its own.
  Status add_bodies(const onnx::NodeProto &p, Node *n) {
    const size_t own_inputs = n->inputs.size();
    for (const onnx::AttributeProto &a : p.attribute()) {
      if (a.type() == onnx::AttributeProto::GRAPH) {
        SI_RETURN_IF_ERROR(add_body(a.g(), a.name(), own_inputs, n));
      } else if (a.type() == onnx::AttributeProto::GRAPHS) {
        for (int k = 0; k < a.graphs_size(); ++k)
          SI_RETURN_IF_ERROR(
              add_body(a.graphs(k), a.name() + "[" + std::to_string(k) + "]", own_inputs, n));
      }
    }
    return Status::ok();
  }

  Status add_body(const onnx::GraphProto &g, const std::string &attr, size_t own_inputs, Node *n) {
    const std::string where = n->describe() + " attribute " + quoted(attr);
    if (depth_ + 1 > kMaxBodyDepth) {
      return invalid_model(where + ": bodies nest deeper than " + std::to_string(kMaxBodyDepth) +
                           " levels");
    }
    Subgraph body;
    body.attr = attr;
    body.graph = std::make_shared<Graph>();
    std::vector<int> outer_ids;
    Status s =
        Converter(g, opsets_, base_dir_, this, depth_ + 1).run_body(body.graph.get(), &outer_ids);
    if (!s.is_ok()) return Status(s.code(), where + ": " + s.message());
    for (int outer : outer_ids) {
      auto it = std::find(n->inputs.begin() + std::ptrdiff_t(own_inputs), n->inputs.end(), outer);
      body.capture_inputs.push_back(size_t(it - n->inputs.begin()));
      if (it == n->inputs.end()) n->inputs.push_back(outer);
    }
    n->subgraphs.push_back(std::move(body));
    return Status::ok();
  }

  Status add_outputs(const std::vector<onnx::ValueInfoProto> &declared) {
    for (const onnx::ValueInfoProto &out : declared) {
      int id = graph_.find_value(out.name());
      if (id < 0 && parent_ != nullptr) id = resolve(out.name());  // a body may return a capture
      if (id < 0) {
        return invalid_model("graph output " + quoted(out.name()) +
                             " is not a graph input, an initializer or any node's output");
      }
      // Outputs are returned and written by name: two with one name would be
      // ambiguous (and the checker lets them through).
      if (parent_ == nullptr &&
          std::find(graph_.outputs.begin(), graph_.outputs.end(), id) != graph_.outputs.end()) {
        return invalid_model("graph output " + quoted(out.name()) + " is declared twice");
      }
      ValueInfo info;
      if (parent_ != nullptr) {
        SI_RETURN_IF_ERROR(body_value_info(out, "body output", &info));
        if (info.dtype == DType::kUndefined) info = graph_.values[size_t(id)];
      } else {
        SI_RETURN_IF_ERROR(declared_value_info(out, "graph output", &info));
      }
      // A constant's tensor or an input's declaration already describes it.
      bool is_input =
          std::find(graph_.inputs.begin(), graph_.inputs.end(), id) != graph_.inputs.end();
      const bool is_capture =
          std::find(graph_.captures.begin(), graph_.captures.end(), id) != graph_.captures.end();
      if (!graph_.is_constant(id) && !is_input && !is_capture)
        graph_.values[size_t(id)] = std::move(info);
      graph_.outputs.push_back(id);
    }
    return Status::ok();
  }

  const onnx::GraphProto &g_;
  const OpsetMap &opsets_;
  const std::string &base_dir_;
  Converter *parent_;
  int depth_;
  std::unordered_map<std::string, const onnx::ValueInfoProto *> inferred_;
  Graph graph_;
  std::vector<int> outer_ids_;  // parent's value feeding each of graph_.captures
};

}  // namespace

Status node_header(const onnx::GraphProto &g, int index, const OpsetMap &opsets, Node *n) {
  const onnx::NodeProto &p = g.node(index);
  n->op_type = p.op_type();
  n->name = p.name().empty() ? p.op_type() + "_" + std::to_string(index) : p.name();
  n->domain = p.domain() == "ai.onnx" ? "" : p.domain();
  auto it = opsets.find(n->domain);
  if (it == opsets.end()) {
    return invalid_model(n->describe() + ": the model imports no opset for domain " +
                         (n->domain.empty() ? "ai.onnx" : n->domain));
  }
  n->opset = it->second;
  return Status::ok();
}

Status convert_graph(const onnx::ModelProto &model,
                     const std::vector<onnx::ValueInfoProto> &declared_outputs,
                     const OpsetMap &opsets, const std::string &base_dir, Graph *out) {
  return Converter(model.graph(), opsets, base_dir).run(declared_outputs, out);
}

}  // namespace si::onnx_import

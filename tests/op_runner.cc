#include "tests/op_runner.h"

#include <cstring>
#include <memory>

namespace si::test {

Status run_op(const OpSpec &spec, std::vector<Tensor> *outputs) {
  SingleNode node = spec;
  node.name = "node_under_test";
  return run_single_node(node, spec.options, outputs);
}

namespace {
template <typename T>
Tensor make(DType dtype, const Shape &shape, const std::vector<T> &values) {
  Tensor t;
  Status s = Tensor::allocate(dtype, shape, &t);
  if (!s.is_ok() || size_t(t.numel()) != values.size()) return Tensor();
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t;
}
}  // namespace

Tensor make_f32(const Shape &shape, const std::vector<float> &values) {
  return make(DType::kFloat32, shape, values);
}

Tensor make_i64(const Shape &shape, const std::vector<int64_t> &values) {
  return make(DType::kInt64, shape, values);
}

std::vector<float> to_vector_f32(const Tensor &t) {
  const float *p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

}  // namespace si::test

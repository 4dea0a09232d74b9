#include "engine/ops/registry.h"

#include "engine/ops/ops.h"

namespace si {

namespace {
constexpr int kMaxOpset = 17;
}  // namespace

const std::vector<OpRegistration> &op_table() {
  static const std::vector<OpRegistration> table = {
      // {domain, op_type, since, until, factory, sparse role}
      {"", "Add", 1, kMaxOpset, create_add, SparseRole::kNone},
      {"", "Sub", 1, kMaxOpset, create_sub, SparseRole::kNone},
      {"", "Mul", 1, kMaxOpset, create_mul, SparseRole::kNone},
      {"", "Div", 1, kMaxOpset, create_div, SparseRole::kNone},
  };
  return table;
}

const OpRegistration *find_op(const std::string &domain, const std::string &op_type, int opset) {
  for (const OpRegistration &r : op_table()) {
    if (domain == r.domain && op_type == r.op_type && opset >= r.since_opset &&
        opset <= r.until_opset) {
      return &r;
    }
  }
  return nullptr;
}

}  // namespace si

#include <algorithm>
#include <cstring>

#include "kernels/quant/quant_detail.h"
#include "kernels/quant/quant_matmul.h"

namespace si {

namespace {

int64_t round_up(int64_t v, int64_t to) {
  return (std::max<int64_t>(v, 1) + to - 1) / to * to;
}

// Rows start on 64-byte boundaries, and every vector load of a row or scale
// row stays inside the padding (zeros).
constexpr int64_t kRowAlign = 64;

WeightBuffer zeroed(size_t bytes, size_t *capacity) {
  WeightBuffer b = alloc_weight_buffer(bytes, capacity);
  if (b) std::memset(b.get(), 0, *capacity);
  return b;
}

bool all_zero(const std::vector<float> &v) {
  return std::all_of(v.begin(), v.end(), [](float z) { return z == 0.f; });
}

}  // namespace

bool PackedQs8wRows::allocate(int64_t k, int64_t n) {
  k_ = k;
  n_ = n;
  ldq_ = round_up(n, kRowAlign);
  q_ = zeroed(size_t(std::max<int64_t>(k, 1) * ldq_), &q_bytes_);
  scale_.clear();
  zero_.clear();
  return q_ != nullptr;
}

bool PackedQs8wRows::pack(const Qs8wSource &src) {
  if (!allocate(src.k, src.n)) return false;
  const int64_t k = src.k, n = src.n;
  const auto *u8 = static_cast<const uint8_t *>(src.q);
  const auto *s8 = static_cast<const int8_t *>(src.q);
  int8_t *q = static_cast<int8_t *>(q_.get());
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      const int64_t at = src.transposed ? c * k + r : r * n + c;
      q[r * ldq_ + c] = src.is_unsigned ? int8_t(int(u8[at]) - 128) : s8[at];
    }
  // uint8 codes were shifted by -128: shift their zero points the same way.
  auto zero_at = [&](int64_t i) {
    if (src.zero == nullptr) return src.is_unsigned ? -128.f : 0.f;
    return src.is_unsigned ? float(static_cast<const uint8_t *>(src.zero)[i]) - 128.f
                           : float(static_cast<const int8_t *>(src.zero)[i]);
  };
  if (src.axis == QuantAxis::kColumn) {
    block_ = std::max<int64_t>(k, 1);
    lds_ = ldq_;
    scale_.assign(size_t(lds_), 0.f);
    zero_.assign(size_t(lds_), 0.f);
    for (int64_t c = 0; c < n; ++c) {
      scale_[size_t(c)] = src.scale[c];
      zero_[size_t(c)] = zero_at(c);
    }
  } else {
    block_ = 0;
    lds_ = 0;
    const bool per_row = src.axis == QuantAxis::kRow;
    scale_.resize(size_t(k));
    zero_.resize(size_t(k));
    for (int64_t r = 0; r < k; ++r) {
      scale_[size_t(r)] = src.scale[per_row ? r : 0];
      zero_[size_t(r)] = zero_at(per_row ? r : 0);
    }
  }
  if (all_zero(zero_)) zero_.clear();
  return true;
}

bool PackedQs8wRows::pack(const MatMulNBitsSource &src) {
  if (!allocate(src.k, src.n)) return false;
  const int64_t k = src.k, n = src.n, block = src.block, kb = (k + block - 1) / block;
  block_ = block;
  lds_ = ldq_;
  int8_t *q = static_cast<int8_t *>(q_.get());
  for (int64_t c = 0; c < n; ++c)
    for (int64_t r = 0; r < k; ++r) q[r * ldq_ + c] = int8_t(int(src.b[c * kb * block + r]) - 128);
  scale_.assign(size_t(kb * lds_), 0.f);
  zero_.assign(size_t(kb * lds_), 0.f);
  for (int64_t c = 0; c < n; ++c)
    for (int64_t b = 0; b < kb; ++b) {
      scale_[size_t(b * lds_ + c)] = src.scales[c * kb + b];
      // Default zero point 128, 0 after the shift.
      if (src.zero_points) zero_[size_t(b * lds_ + c)] = float(src.zero_points[c * kb + b]) - 128.f;
    }
  if (all_zero(zero_)) zero_.clear();
  return true;
}

Qs8wRows PackedQs8wRows::view() const {
  return {static_cast<const int8_t *>(q_.get()),  ldq_, scale_.data(),
          zero_.empty() ? nullptr : zero_.data(), lds_, block_};
}

size_t PackedQs8wRows::size_bytes() const {
  return q_bytes_ + (scale_.size() + zero_.size()) * sizeof(float);
}

void PackedQs8wRows::dequantize(float *w) const {
  const Qs8wRows v = view();
  for (int64_t r = 0; r < k_; ++r)
    for (int64_t c = 0; c < n_; ++c) w[r * n_ + c] = quant_detail::qs8w_weight(v, r, c);
}

bool PackedQu4wRows::pack(const MatMulNBitsSource &src) {
  const int64_t k = src.k, n = src.n, block = src.block, kb = (k + block - 1) / block;
  k_ = k;
  n_ = n;
  block_ = block;
  ldq_ = round_up((n + 31) / 32 * 16, kRowAlign);
  lds_ = ldq_ * 2;
  q_ = zeroed(size_t(std::max<int64_t>(k, 1) * ldq_), &q_bytes_);
  if (!q_) return false;
  // Column c's slot in a row of 32-column groups.
  auto put = [](uint8_t *row, int64_t c, int code) {
    uint8_t &b = row[(c >> 5) * 16 + (c & 15)];
    b = uint8_t((c & 16) ? (b & 0x0F) | (code << 4) : (b & 0xF0) | code);
  };
  uint8_t *q = static_cast<uint8_t *>(q_.get());
  const int64_t blob = block / 2, zp_stride = (kb + 1) / 2;
  for (int64_t c = 0; c < n; ++c)
    for (int64_t r = 0; r < k; ++r) {
      const uint8_t byte = src.b[(c * kb + r / block) * blob + (r % block) / 2];
      put(q + r * ldq_, c, (r % 2) ? byte >> 4 : byte & 0x0F);
    }
  // fp16 scale rows when that loses nothing (half.h), float32 otherwise.
  scale_.clear();
  scale_half_.clear();
  if (std::all_of(src.scales, src.scales + n * kb, half_exact)) {
    scale_half_.assign(size_t(kb * lds_), 0);
    for (int64_t c = 0; c < n; ++c)
      for (int64_t b = 0; b < kb; ++b)
        scale_half_[size_t(b * lds_ + c)] = half_bits(src.scales[c * kb + b]);
  } else {
    scale_.assign(size_t(kb * lds_), 0.f);
    for (int64_t c = 0; c < n; ++c)
      for (int64_t b = 0; b < kb; ++b) scale_[size_t(b * lds_ + c)] = src.scales[c * kb + b];
  }
  zero_.clear();
  if (src.zero_points) {
    zero_.assign(size_t(kb * ldq_), 0);
    for (int64_t c = 0; c < n; ++c)
      for (int64_t b = 0; b < kb; ++b) {
        const uint8_t byte = src.zero_points[c * zp_stride + b / 2];
        put(zero_.data() + b * ldq_, c, (b % 2) ? byte >> 4 : byte & 0x0F);
      }
  }
  return true;
}

Qu4wRows PackedQu4wRows::view() const {
  return {static_cast<const uint8_t *>(q_.get()),
          ldq_,
          scale_.empty() ? nullptr : scale_.data(),
          scale_half_.empty() ? nullptr : scale_half_.data(),
          zero_.empty() ? nullptr : zero_.data(),
          lds_,
          block_};
}

size_t PackedQu4wRows::size_bytes() const {
  return q_bytes_ + scale_.size() * sizeof(float) + scale_half_.size() * sizeof(uint16_t) +
         zero_.size();
}

void PackedQu4wRows::dequantize(float *w) const {
  const Qu4wRows v = view();
  for (int64_t r = 0; r < k_; ++r)
    for (int64_t c = 0; c < n_; ++c) w[r * n_ + c] = quant_detail::qu4w_weight(v, r, c);
}

}  // namespace si

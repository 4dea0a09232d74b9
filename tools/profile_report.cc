#include "tools/profile_report.h"

#include <algorithm>
#include <cstdio>

#include "engine/json_text.h"
#include "tools/analyze_report.h"

namespace si::cli {

namespace {

constexpr size_t kMaxNameWidth = 40;

}  // namespace

void ProfileReport::add(const RunProfile &run) {
  runs_.push_back(run);
}

void ProfileReport::add_counted(const RunProfile &run) {
  counted_.push_back(run);
}

ProfileSummary ProfileReport::summary() const {
  return session_ != nullptr ? summarize_profile(runs_, *session_, counted_)
                             : summarize_profile(runs_);
}

std::string ProfileReport::table() const {
  if (runs_.empty()) return "";
  const ProfileSummary p = summary();
  std::string out;
  char line[640];
  std::snprintf(line, sizeof line, "profile: median of %zu warm run(s) after %ld warm-up run(s)\n",
                p.runs, warmup_runs_);
  out += line;
  size_t width = 24;
  for (const StepSummary &s : p.steps) width = std::max(width, s.name.size());
  width = std::min(width, kMaxNameWidth);
  std::snprintf(line, sizeof line, "%-16s %-*s %-18s %10s %6s %8s %6s  %s\n", "op", int(width),
                "node", "output", "time_us", "share", "density", "zeros", "path");
  out += line;
  for (const StepSummary &s : p.steps) {
    std::string density, zeros;
    char buf[32];
    if (s.consumer && s.density >= 0) {
      std::snprintf(buf, sizeof buf, "%.3f", s.density);
      density = buf;
    } else if (s.consumer) {
      density = "-";
    }
    if (s.zero_fraction >= 0) {
      std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * s.zero_fraction);
      zeros = buf;
    }
    std::snprintf(line, sizeof line, "%-16s %-*s %-18s %10.1f %5.1f%% %8s %6s  %s\n",
                  s.op_type.c_str(), int(width), shorten_middle(s.name, width).c_str(),
                  shape_str(s.output_shape).c_str(), s.time_us,
                  p.total_us > 0 ? 100.0 * s.time_us / p.total_us : 0.0, density.c_str(),
                  zeros.c_str(), s.path.c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "total (sum of medians): %.1f us over %zu run(s)\n", p.total_us,
                p.runs);
  out += line;
  if (p.sparse_work_share >= 0) {
    std::snprintf(line, sizeof line,
                  "matmul work on the sparse path: %.1f%%; weight bytes read per run %.3g of "
                  "%.3g dense (%.1f%%)\n",
                  100.0 * p.sparse_work_share, p.weight_bytes_read, p.weight_bytes_dense,
                  100.0 * p.weight_bytes_read / p.weight_bytes_dense);
    out += line;
  } else {
    out += "matmul work on the sparse path: none (no MatMul or Gemm here can take it)\n";
  }
  return out;
}

std::string ProfileReport::json() const {
  const ProfileSummary p = summary();
  auto or_null = [](double v) { return v >= 0 ? json_number(v) : std::string("null"); };
  auto str_or_null = [](const std::string &v) {
    return v.empty() ? std::string("null") : json_string(v);
  };
  std::string out = "{\"runs\": " + std::to_string(p.runs) +
                    ", \"warmup_runs\": " + std::to_string(warmup_runs_) +
                    ", \"total_us\": " + json_number(p.total_us) +
                    ", \"sparse_work_share\": " + or_null(p.sparse_work_share) +
                    ", \"weight_bytes_read\": " + json_number(p.weight_bytes_read, 15) +
                    ", \"weight_bytes_dense\": " + json_number(p.weight_bytes_dense, 15) +
                    ",\n \"layers\": [";
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const StepSummary &s = p.steps[i];
    std::string shape = "[";
    for (size_t d = 0; d < s.output_shape.size(); ++d)
      shape += (d ? ", " : "") + std::to_string(s.output_shape[d]);
    out += std::string(i ? "," : "") + "\n  {\"op\": " + json_string(s.op_type) +
           ", \"node\": " + json_string(s.name) + ", \"output_shape\": " + shape +
           "], \"time_us\": " + json_number(s.time_us) + ", \"density\": " + or_null(s.density) +
           ", \"path\": " + str_or_null(s.path) + ", \"activation\": " + str_or_null(s.activation) +
           ", \"zero_fraction\": " +
           (s.zero_fraction >= 0 ? json_number(s.zero_fraction, 9) : "null") + "}";
  }
  return out + "\n ]}\n";
}

std::string ProfileReport::chrome_trace() const {
  std::string out = "{\"traceEvents\":[\n";
  double clock = 0;
  bool first = true;
  char buf[256];
  for (const RunProfile &r : runs_) {
    for (const StepRecord &s : r.steps) {
      out += first ? "" : ",\n";
      first = false;
      std::snprintf(buf, sizeof buf, "\"ts\":%.3f,\"dur\":%.3f", clock, s.time_us);
      out += "{\"name\":" + json_string(s.name) + ",\"cat\":\"Node\",\"ph\":\"X\",\"pid\":1," +
             "\"tid\":1," + buf + ",\"args\":{\"op_name\":" + json_string(s.op_type) +
             ",\"output_shape\":\"" + shape_str(s.output_shape) + "\"";
      if (s.consumer) {
        std::snprintf(buf, sizeof buf, ",\"density\":%.4f,\"path\":\"%s\"", s.matmul.density,
                      s.matmul.path);
        out += buf;
      }
      out += "}}";
      clock += s.time_us;
    }
  }
  return out + "\n]}\n";
}

}  // namespace si::cli

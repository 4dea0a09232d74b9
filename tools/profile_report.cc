#include "tools/profile_report.h"

#include <cstdio>

#include "engine/profile_summary.h"

namespace si::cli {

namespace {

std::string json_escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void ProfileReport::add(const RunProfile &run) {
  runs_.push_back(run);
}

std::string ProfileReport::table() const {
  if (runs_.empty()) return "";
  const ProfileSummary p = summarize_profile(runs_);
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "profile: median of %zu warm run(s) after %ld warm-up run(s)\n",
                p.runs, warmup_runs_);
  out += line;
  std::snprintf(line, sizeof line, "%-16s %-24s %-18s %10s %6s %8s  %s\n", "op", "node", "output",
                "time_us", "share", "density", "path");
  out += line;
  for (const StepSummary &s : p.steps) {
    std::string density;
    if (s.consumer && s.density >= 0) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", s.density);
      density = buf;
    } else if (s.consumer) {
      density = "-";
    }
    std::snprintf(line, sizeof line, "%-16s %-24s %-18s %10.1f %5.1f%% %8s  %s\n",
                  s.op_type.c_str(), s.name.c_str(), shape_str(s.output_shape).c_str(), s.time_us,
                  p.total_us > 0 ? 100.0 * s.time_us / p.total_us : 0.0, density.c_str(),
                  s.path.c_str());
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
  }
  return out;
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
      out += "{\"name\":\"" + json_escape(s.name) + "\",\"cat\":\"Node\",\"ph\":\"X\",\"pid\":1," +
             "\"tid\":1," + buf + ",\"args\":{\"op_name\":\"" + json_escape(s.op_type) +
             "\",\"output_shape\":\"" + shape_str(s.output_shape) + "\"";
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

#include "tools/profile_report.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

namespace si::cli {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

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

// "sparse", "dense:rows_gemv", or "dense:rows_gemv 60/sparse 40" when calls
// differed.
std::string path_summary(const std::map<std::string, int> &paths) {
  if (paths.size() == 1) return paths.begin()->first;
  std::string s;
  for (const auto &kv : paths)
    s += (s.empty() ? "" : "/") + kv.first + " " + std::to_string(kv.second);
  return s;
}

}  // namespace

void ProfileReport::add(const RunProfile &run) {
  runs_.push_back(run);
}

std::string ProfileReport::table() const {
  if (runs_.empty()) return "";
  const size_t steps = runs_[0].steps.size();
  std::vector<double> med(steps);
  double total = 0;
  for (size_t i = 0; i < steps; ++i) {
    std::vector<double> t;
    for (const RunProfile &r : runs_) t.push_back(r.steps[i].time_us);
    med[i] = median(t);
    total += med[i];
  }
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "profile: median of %zu warm run(s) after %ld warm-up run(s)\n",
                runs_.size(), warmup_runs_);
  out += line;
  std::snprintf(line, sizeof line, "%-16s %-24s %-18s %10s %6s %8s  %s\n", "op", "node", "output",
                "time_us", "share", "density", "path");
  out += line;
  int64_t sparse_work = 0, all_work = 0, read = 0, dense_eq = 0;
  for (size_t i = 0; i < steps; ++i) {
    const StepRecord &first = runs_[0].steps[i];
    std::string density = "", path = "";
    if (first.consumer) {
      std::vector<double> d;
      std::map<std::string, int> paths;
      for (const RunProfile &r : runs_) {
        const MatmulProfile &m = r.steps[i].matmul;
        if (m.density >= 0) d.push_back(m.density);
        ++paths[m.path];
        all_work += m.weight_bytes_dense;
        if (std::strncmp(m.path, "sparse", 6) == 0) sparse_work += m.weight_bytes_dense;
        read += m.weight_bytes_read;
        dense_eq += m.weight_bytes_dense;
      }
      if (!d.empty()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", median(d));
        density = buf;
      } else {
        density = "-";
      }
      path = path_summary(paths);
    }
    std::snprintf(line, sizeof line, "%-16s %-24s %-18s %10.1f %5.1f%% %8s  %s\n",
                  first.op_type.c_str(), first.name.c_str(), shape_str(first.output_shape).c_str(),
                  med[i], total > 0 ? 100.0 * med[i] / total : 0.0, density.c_str(), path.c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "total (sum of medians): %.1f us over %zu run(s)\n", total,
                runs_.size());
  out += line;
  if (all_work > 0) {
    std::snprintf(line, sizeof line,
                  "matmul work on the sparse path: %.1f%%; weight bytes read per run %.3g of "
                  "%.3g dense (%.1f%%)\n",
                  100.0 * double(sparse_work) / double(all_work), double(read) / runs_.size(),
                  double(dense_eq) / runs_.size(), 100.0 * double(read) / double(dense_eq));
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

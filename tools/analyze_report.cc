#include "tools/analyze_report.h"

#include <cmath>
#include <cstdio>
#include <vector>

namespace si::cli {

namespace {

constexpr size_t kNameWidth = 40;

// 1234567 -> "1.23M": MAC counts span from hundreds to billions.
std::string si_count(double v) {
  static const char *const kUnits[] = {"", "K", "M", "G", "T"};
  size_t u = 0;
  while (std::fabs(v) >= 1000 && u + 1 < sizeof kUnits / sizeof kUnits[0]) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.3g%s", v, kUnits[u]);
  return buf;
}

std::string number(double v, const char *format) {
  if (!std::isfinite(v) || v < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string range(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string path_text(const LayerReport &l) {
  if (l.path != "mixed") return l.path;
  char buf[48];
  std::snprintf(buf, sizeof buf, "mixed (%.0f%% of calls sparse)", 100.0 * l.sparse_call_share);
  return buf;
}

}  // namespace

std::string shorten_middle(const std::string &s, size_t width) {
  if (s.size() <= width) return s;
  // PyTorch scopes repeat themselves: "/features/features.2/conv/conv.0/
  // conv.0.2/Clip" says no less as "/features.2/conv.0.2/Clip", and a cut
  // in the middle would drop the block number that tells rows apart.
  std::vector<std::string> parts;
  for (size_t b = 0, e; b <= s.size(); b = e + 1) {
    e = s.find('/', b);
    if (e == std::string::npos) e = s.size();
    parts.push_back(s.substr(b, e - b));
  }
  std::string compact;
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool scope_of_next = i + 1 < parts.size() && !parts[i].empty() &&
                               parts[i + 1].compare(0, parts[i].size() + 1, parts[i] + ".") == 0;
    if (!scope_of_next) compact += (i ? "/" : "") + parts[i];
  }
  if (compact.size() <= width) return compact;
  const size_t keep = width - 3, head = keep / 3;  // the tail names the op: keep more of it
  return compact.substr(0, head) + "..." + compact.substr(compact.size() - (keep - head));
}

std::string analysis_text(const AnalysisReport &r, const std::string &header) {
  std::string out = header;
  char line[512];
  if (!r.activations.empty()) {
    std::snprintf(line, sizeof line, "\n%-*s %-10s %7s %11s %11s\n", int(kNameWidth), "activation",
                  "op", "zeros", "min", "max");
    out += line;
    for (const ActivationReport &a : r.activations) {
      std::snprintf(line, sizeof line, "%-*s %-10s %6.1f%% %11s %11s\n", int(kNameWidth),
                    shorten_middle(a.node, kNameWidth).c_str(), a.op.c_str(),
                    100.0 * a.zero_fraction, range(a.min).c_str(), range(a.max).c_str());
      out += line;
    }
  }
  if (!r.layers.empty()) {
    std::snprintf(line, sizeof line, "\n%-*s %-13s %8s %8s %10s %10s  %s\n", int(kNameWidth),
                  "layer", "op", "MACs", "0 input", "auto us", "dense us", "path");
    out += line;
    for (const LayerReport &l : r.layers) {
      std::snprintf(line, sizeof line, "%-*s %-13s %8s %7.1f%% %10s %10s  %s\n", int(kNameWidth),
                    shorten_middle(l.node, kNameWidth).c_str(), l.op.c_str(),
                    si_count(l.macs).c_str(), 100.0 * l.zero_input_fraction,
                    number(l.time_us_auto, "%.1f").c_str(), number(l.time_us_dense, "%.1f").c_str(),
                    path_text(l).c_str());
      out += line;
    }
  }
  std::snprintf(line, sizeof line,
                "\nMACs reading exact zeros: %.1f%%, on the sparse path: %.1f%%\n"
                "latency p50: auto %.1f us, dense %.1f us (speedup %.2fx)\n",
                100.0 * r.mac_share_reading_zeros, 100.0 * r.mac_share_sparse_path, r.auto_p50_us,
                r.dense_p50_us, r.speedup);
  out += line;
  return out + "verdict: " + r.verdict + "\n";
}

}  // namespace si::cli

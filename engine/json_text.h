// The two pieces of JSON text the engine's reports (analysis_json) and the
// CLI's (--profile --json, --trace) are written with.
#pragma once

#include <string>

namespace si {

// `s` as a JSON string literal, quotes included (control characters \u00XX).
std::string json_string(const std::string &s);
// `v` with `digits` significant digits ("%.*g"), or null when not finite.
std::string json_number(double v, int digits = 6);

}  // namespace si

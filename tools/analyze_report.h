// The text form of `sparse-infer analyze` (engine/analysis.h): two tables,
// activations and layers, then the model-wide figures and the verdict.
#pragma once

#include <string>

#include "engine/analysis.h"

namespace si::cli {

// `s` in at most `width` characters: first without the PyTorch scopes that
// only repeat the next one ("/layer1/layer1.0/relu/Relu" ->
// "/layer1.0/relu/Relu"), then, if still too long, with its middle replaced
// by "...", so both a long name's scope and its op stay readable (M-LSD's
// node names run to ~300 characters). `width` >= 5.
std::string shorten_middle(const std::string &s, size_t width);

// The report as a table; `header` is printed first (model, input sets, runs).
std::string analysis_text(const AnalysisReport &report, const std::string &header);

}  // namespace si::cli

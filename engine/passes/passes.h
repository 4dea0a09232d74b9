// Graph passes run at load, in order, by optimize_graph().
#pragma once

#include "engine/graph.h"
#include "engine/options.h"
#include "engine/status.h"

namespace si {

// Evaluates every node whose inputs are all constants and turns its outputs
// into constants (shape sub-graphs, Constant nodes, weight transposes).
Status fold_constants(Graph *graph, const SessionOptions &options);

// Drops nodes none of whose outputs reach a graph output.
void remove_dead_nodes(Graph *graph);

Status optimize_graph(Graph *graph, const SessionOptions &options);

}  // namespace si

// Ordering and lifetimes: the part of planning that only needs the graph.
#pragma once

#include <vector>

#include "engine/graph.h"
#include "engine/status.h"

namespace si {

// Node indices in an order where every node follows the producers of its
// inputs. Fails on a cycle (naming the nodes on it), on an input that no
// node, graph input or constant provides, and on a value produced twice.
Status topological_order(const Graph &graph, std::vector<size_t> *order);

// For each position in `order`, the values whose last reader is that node
// and which are neither graph outputs nor constants (their buffers can be
// recycled right after it runs).
std::vector<std::vector<int>> release_points(const Graph &graph, const std::vector<size_t> &order);

}  // namespace si

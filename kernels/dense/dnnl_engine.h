// The one oneDNN CPU engine every wrapper in kernels/dense shares.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <string>

namespace si {

// Created on first use. Before that, an SI_MAX_ISA below avx512 caps oneDNN
// too (dnnl::set_max_cpu_isa), unless ONEDNN_MAX_CPU_ISA already says.
const dnnl::engine &dnnl_cpu_engine();

// "oneDNN: <what> (status N)", for the Status messages of the wrappers.
std::string dnnl_message(const dnnl::error &e);

}  // namespace si

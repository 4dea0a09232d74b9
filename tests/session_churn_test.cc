// Many short-lived sessions through the C API: 4 threads each create, run once
// and destroy 250 sessions of the digits MLP, concurrently. Leaks show up in
// the sanitizer build (LeakSanitizer), crashes and races here or under TSan.
//
// sparse_infer.h comes first and the type si_status is never spelled here:
// glibc's <signal.h> (pulled in by gtest) defines a macro si_status.
#include "sparse_infer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kThreads = 4;
constexpr int kSessionsPerThread = 250;
constexpr int kFeatures = 64;
constexpr int kClasses = 10;
constexpr int kInputs = 8;  // models/digits_mlp/input_{0..7}.bin
constexpr float kTolerance = 1e-4f;

std::string models_dir() {
  const char *d = std::getenv("SI_SOURCE_DIR");
  return std::string(d ? d : ".") + "/models";
}

std::vector<char> read_bytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::vector<float> read_floats(const std::string &path, size_t count) {
  std::vector<char> bytes = read_bytes(path);
  EXPECT_EQ(bytes.size(), count * sizeof(float)) << path;
  std::vector<float> v(count);
  std::memcpy(v.data(), bytes.data(), std::min(bytes.size(), count * sizeof(float)));
  return v;
}

struct Data {
  std::string model_path;
  std::vector<char> model_bytes;
  std::vector<float> inputs[kInputs];
  std::vector<float> expected[kInputs];  // PyTorch's logits
};

// One session's life. Sessions alternate between the file and memory
// constructors and between default options (all cores) and one thread, so
// both OpenMP set-ups are created and torn down many times. Returns "" or what
// went wrong.
std::string one_session(const Data &d, int thread, int i) {
  const int k = (thread + i) % kInputs;
  si_options *opts = nullptr;
  if (i % 2 == 1) {
    if (si_options_create(&opts) != SI_OK || si_options_set_threads(opts, 1) != SI_OK) {
      si_options_destroy(opts);
      return std::string("options: ") + si_last_error();
    }
  }
  si_session *s = nullptr;
  const int st = (i / 2) % 2 == 0 ? si_session_create(d.model_path.c_str(), opts, &s)
                                  : si_session_create_from_memory(d.model_bytes.data(),
                                                                  d.model_bytes.size(), opts, &s);
  si_options_destroy(opts);
  if (st != SI_OK) return std::string("create: ") + si_last_error();

  si_tensor in{};
  in.dtype = SI_FLOAT32;
  in.rank = 2;
  in.dims[0] = 1;
  in.dims[1] = kFeatures;
  in.data = const_cast<float *>(d.inputs[k].data());
  in.size_bytes = kFeatures * sizeof(float);
  si_tensor out{};  // engine-allocated
  std::string error;
  if (si_run(s, &in, 1, &out, 1) != SI_OK) {
    error = std::string("run: ") + si_last_error();
  } else if (out.rank != 2 || out.dims[0] != 1 || out.dims[1] != kClasses) {
    error = "run: output is not [1, 10]";
  } else {
    const float *got = static_cast<const float *>(out.data);
    for (int c = 0; c < kClasses; ++c) {
      if (!(std::fabs(got[c] - d.expected[k][c]) <= kTolerance)) {
        error = "input " + std::to_string(k) + " class " + std::to_string(c) + ": got " +
                std::to_string(got[c]) + ", PyTorch " + std::to_string(d.expected[k][c]);
        break;
      }
    }
  }
  si_tensor_free(&out);
  si_session_destroy(s);
  return error;
}

TEST(SessionChurn, ThousandSessionsFromFourThreads) {
  Data d;
  d.model_path = models_dir() + "/digits_mlp.onnx";
  d.model_bytes = read_bytes(d.model_path);
  ASSERT_FALSE(d.model_bytes.empty()) << d.model_path;
  for (int k = 0; k < kInputs; ++k) {
    const std::string dir = models_dir() + "/digits_mlp/";
    d.inputs[k] = read_floats(dir + "input_" + std::to_string(k) + ".bin", kFeatures);
    d.expected[k] = read_floats(dir + "expected_" + std::to_string(k) + ".bin", kClasses);
  }

  std::vector<int> failures(kThreads, 0), created(kThreads, 0);
  std::vector<std::string> first_error(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSessionsPerThread; ++i) {
        std::string e = one_session(d, t, i);
        ++created[t];
        if (!e.empty() && failures[t]++ == 0) first_error[t] = e;
      }
    });
  }
  for (std::thread &th : threads) th.join();
  int total = 0;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t << ", first failure: " << first_error[t];
    total += created[t];
  }
  EXPECT_EQ(total, kThreads * kSessionsPerThread);
}

// Failed creations from many threads at once leave nothing behind either: every
// truncated model must fail, with a message and no session.
TEST(SessionChurn, FailedCreatesFromFourThreads) {
  const std::vector<char> model = read_bytes(models_dir() + "/digits_mlp.onnx");
  ASSERT_GT(model.size(), 1000u);
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        si_session *s = nullptr;
        const size_t cut = model.size() / 2 + size_t(t * 50 + i) * 97;
        const int st = si_session_create_from_memory(model.data(), cut, nullptr, &s);
        if (st == SI_OK || s != nullptr || si_last_error()[0] == '\0') ++wrong[t];
        si_session_destroy(s);
      }
    });
  }
  for (std::thread &th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

}  // namespace

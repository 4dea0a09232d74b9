#include "tools/input_sets.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "tools/cli_options.h"
#include "tools/output_writer.h"
#include "tools/tensor_io.h"

namespace si::cli {

namespace {

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

std::string input_list(const std::vector<ValueInfo> &inputs) {
  if (inputs.empty()) return "(none)";
  std::string s;
  for (size_t i = 0; i < inputs.size(); ++i) {
    s += (i ? ", " : "") + inputs[i].name + " " + value_info_str(inputs[i]);
  }
  return s;
}

std::string count_str(size_t n) {
  return std::to_string(n) + (n == 1 ? " input" : " inputs");
}

bool file_exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// One set from DIR/<input name>.npy or .bin (the name as given, or escaped
// as output files are), for a folder with no test_data_set_* in it.
Status load_named_files(const std::string &dir, const std::vector<ValueInfo> &inputs,
                        std::vector<InputSet> *sets) {
  std::vector<std::string> paths;
  std::string missing;
  for (const ValueInfo &v : inputs) {
    std::string found;
    for (const std::string &name : {v.name, escape_file_name(v.name)})
      for (const char *ext : {".npy", ".bin"})
        if (found.empty() && file_exists(dir + "/" + name + ext)) found = dir + "/" + name + ext;
    if (found.empty()) missing += (missing.empty() ? "" : ", ") + v.name;
    paths.push_back(found);
  }
  if (!missing.empty()) {
    return invalid_argument(dir +
                            ": no test_data_set_* folders, and no <input name>.npy or .bin "
                            "for input(s) " +
                            missing + " (model inputs: " + input_list(inputs) + ")");
  }
  InputSet set;
  set.label = dir;
  SI_RETURN_IF_ERROR(load_input_set(paths, inputs, &set));
  sets->push_back(std::move(set));
  return Status::ok();
}

}  // namespace

bool natural_less(const std::string &a, const std::string &b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      size_t i0 = i, j0 = j;
      while (i0 < a.size() && a[i0] == '0') ++i0;
      while (j0 < b.size() && b[j0] == '0') ++j0;
      size_t i1 = i0, j1 = j0;
      while (i1 < a.size() && is_digit(a[i1])) ++i1;
      while (j1 < b.size() && is_digit(b[j1])) ++j1;
      if (i1 - i0 != j1 - j0) return i1 - i0 < j1 - j0;
      int c = a.compare(i0, i1 - i0, b, j0, j1 - j0);
      if (c != 0) return c < 0;
      // Equal numbers: fewer leading zeros first, so the order is total.
      if (i0 - i != j0 - j) return i0 - i < j0 - j;
      i = i1;
      j = j1;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

int assign_inputs(const std::vector<std::string> &args, const std::vector<ValueInfo> &inputs,
                  std::vector<std::string> *paths, std::string *error) {
  paths->assign(inputs.size(), std::string());
  std::vector<bool> named(inputs.size(), false);
  std::vector<std::string> positional;
  for (const std::string &arg : args) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(0, eq);
    auto it = std::find_if(inputs.begin(), inputs.end(),
                           [&](const ValueInfo &v) { return v.name == name; });
    if (it == inputs.end()) {
      if (file_exists(arg)) {
        positional.push_back(arg);
        continue;
      }
      *error =
          "unknown input name '" + name + "' in '" + arg + "'; model inputs: " + input_list(inputs);
      return kExitUsage;
    }
    size_t idx = static_cast<size_t>(it - inputs.begin());
    if (named[idx]) {
      *error = "input '" + name + "' is given more than once";
      return kExitUsage;
    }
    named[idx] = true;
    (*paths)[idx] = arg.substr(eq + 1);
  }
  size_t next = 0;
  for (const std::string &path : positional) {
    while (next < inputs.size() && named[next]) ++next;
    if (next == inputs.size()) {
      *error = "too many inputs: model takes " + count_str(inputs.size()) + " (" +
               input_list(inputs) + "), got " + std::to_string(args.size());
      return kExitInput;
    }
    (*paths)[next++] = path;
  }
  for (const std::string &path : *paths) {
    if (!is_directory(path)) continue;
    *error = path +
             " is a directory, not an input file (input sets in the ONNX test layout, "
             "DIR/test_data_set_*/input_<i>.pb, are read with --inputs-dir DIR)";
    return kExitInput;
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!named[i] && i >= next) {
      *error = "too few inputs: model input '" + inputs[i].name + "' (" +
               value_info_str(inputs[i]) + ") has no value; model takes " +
               count_str(inputs.size()) + ": " + input_list(inputs);
      return kExitInput;
    }
  }
  return kExitOk;
}

Status load_input_set(const std::vector<std::string> &paths, const std::vector<ValueInfo> &inputs,
                      InputSet *out) {
  out->tensors.assign(inputs.size(), Tensor());
  for (size_t i = 0; i < inputs.size(); ++i) {
    SI_RETURN_IF_ERROR(read_input_file(paths[i], inputs[i], &out->tensors[i]));
  }
  return Status::ok();
}

Status load_inputs_dir(const std::string &dir, const std::vector<ValueInfo> &inputs,
                       std::vector<InputSet> *sets, const std::vector<bool> *optional_after_first) {
  DIR *d = ::opendir(dir.c_str());
  if (d == nullptr) return io_error(dir + ": cannot open input folder: " + std::strerror(errno));
  std::vector<std::string> folders;
  while (dirent *e = ::readdir(d)) {
    std::string name = e->d_name;
    struct stat st;
    if (name.rfind("test_data_set_", 0) == 0 && ::stat((dir + "/" + name).c_str(), &st) == 0 &&
        S_ISDIR(st.st_mode)) {
      folders.push_back(name);
    }
  }
  ::closedir(d);
  if (folders.empty()) return load_named_files(dir, inputs, sets);
  std::sort(folders.begin(), folders.end(), natural_less);
  for (const std::string &folder : folders) {
    std::string base = dir + "/" + folder + "/input_";
    std::string extra = base + std::to_string(inputs.size()) + ".pb";
    if (file_exists(extra)) {
      return invalid_argument(extra + ": more input files than the model's " +
                              count_str(inputs.size()) + " (" + input_list(inputs) + ")");
    }
    std::vector<std::string> paths;
    for (size_t i = 0; i < inputs.size(); ++i) paths.push_back(base + std::to_string(i) + ".pb");
    InputSet set;
    set.label = folder;
    set.tensors.assign(inputs.size(), Tensor());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const bool may_lack = !sets->empty() && optional_after_first != nullptr &&
                            (*optional_after_first)[i] && !file_exists(paths[i]);
      if (!may_lack) SI_RETURN_IF_ERROR(read_input_file(paths[i], inputs[i], &set.tensors[i]));
    }
    sets->push_back(std::move(set));
  }
  return Status::ok();
}

}  // namespace si::cli

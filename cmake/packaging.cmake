# `cpack -G DEB` in a build directory: one .deb of everything `cmake --install`
# puts under /usr (library, header, pkg-config and CMake files, the CLI and,
# when built, the Python module). dpkg-shlibdeps reads the installed
# binaries' ELF dependencies, so Depends names exactly the Debian runtime
# packages they link (oneDNN, ONNX, Protobuf, OpenMP, libstdc++), never the
# -dev ones.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sparse-infer)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "CPU inference engine for ONNX models that skips the zeros after ReLUs")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "sparse-infer developers")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# CPackDeb runs `file` on every installed file before dpkg-shlibdeps (from
# dpkg-dev, which build-essential brings); minimal roots lack it.
find_program(SI_FILE_PROGRAM file)
if(NOT SI_FILE_PROGRAM)
  message(STATUS "cpack -G DEB needs the file program: apt-get install file")
endif()
if(SI_PYTHON_TARGET)
  # The module's own ELF dependencies come from shlibdeps; the interpreter
  # and numpy it imports do not show there.
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3, python3-numpy")
endif()
include(CPack)

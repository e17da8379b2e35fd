# Helpers shared by core, modules and plugins.

# happy_add_module(<name> SOURCES <files…>) — one module = one directory = one OBJECT library
# (OBJECT so that nothing the generated registry references can be dead-stripped).
function(happy_add_module name)
    cmake_parse_arguments(ARG "" "" "SOURCES;TESTS" ${ARGN})
    # Modules are backend-neutral: they reach storage through core/db (db::tx) only. Checked when CMake configures
    # (every fresh build), so that a module naming SOCI fails with a clear message instead of quietly compiling
    # (the SOCI headers are on the system include path).
    file(GLOB _files "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp" "${CMAKE_CURRENT_SOURCE_DIR}/*.hpp")
    foreach(f IN LISTS _files)
        file(STRINGS "${f}" _soci REGEX "#include <soci/|soci::")
        if(_soci)
            message(FATAL_ERROR "module ${name}: ${f} uses SOCI directly (${_soci}); modules use core/db/query.hpp")
        endif()
    endforeach()
    add_library(happy_mod_${name} OBJECT ${ARG_SOURCES})
    target_link_libraries(happy_mod_${name} PUBLIC happy_core)
    set_property(GLOBAL APPEND PROPERTY HAPPY_MODULE_TESTS ${ARG_TESTS})
endfunction()

# happy_add_plugin(<name> SOURCES <files…>) — a named backend (storage, files, bus, push).
function(happy_add_plugin name)
    cmake_parse_arguments(ARG "" "" "SOURCES;TESTS;LIBS" ${ARGN})
    add_library(happy_plugin_${name} OBJECT ${ARG_SOURCES})
    target_link_libraries(happy_plugin_${name} PUBLIC happy_core happy_soci ${ARG_LIBS})
    set_property(GLOBAL APPEND PROPERTY HAPPY_MODULE_TESTS ${ARG_TESTS})
endfunction()

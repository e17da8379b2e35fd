# Helpers shared by core, modules and plugins.

# happy_add_module(<name> SOURCES <files…> [DEPENDS <modules…>]) — one module = one directory = one OBJECT library
# (OBJECT so that nothing the generated registry references can be dead-stripped). DEPENDS names the modules whose
# code this one calls (e.g. auth's account seq allocation); happy_check_module_dependencies() refuses a
# HAPPY_MODULES list that leaves one out.
function(happy_add_module name)
    cmake_parse_arguments(ARG "" "" "SOURCES;TESTS;DEPENDS" ${ARGN})
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
    # A module's sources may include another module's headers only when it declares that module in DEPENDS, so the
    # declared list cannot drift from the code.
    foreach(f IN LISTS _files)
        if(f MATCHES "_test\\.cpp$")
            continue()
        endif()
        file(STRINGS "${f}" _uses REGEX "#include \"modules/[a-z_]+/")
        foreach(line IN LISTS _uses)
            string(REGEX REPLACE ".*#include \"modules/([a-z_]+)/.*" "\\1" _dep "${line}")
            if(NOT _dep STREQUAL name AND NOT _dep IN_LIST ARG_DEPENDS)
                message(FATAL_ERROR "module ${name}: ${f} includes modules/${_dep}/ but ${name}'s CMakeLists.txt does "
                                    "not declare it: happy_add_module(${name} ... DEPENDS ${_dep})")
            endif()
        endforeach()
    endforeach()
    set_property(GLOBAL PROPERTY HAPPY_MODULE_DEPENDS_${name} ${ARG_DEPENDS})
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

# Refuses a module list in which a module lacks a module it depends on, or names a module that does not exist,
# with the fix in the message (rather than a link error about a missing symbol).
function(happy_check_module_dependencies enabled all)
    foreach(m IN LISTS enabled)
        if(NOT m IN_LIST all)
            message(FATAL_ERROR "HAPPY_MODULES: unknown module \"${m}\" (modules: ${all})")
        endif()
    endforeach()
    foreach(m IN LISTS enabled)
        get_property(_deps GLOBAL PROPERTY HAPPY_MODULE_DEPENDS_${m})
        foreach(d IN LISTS _deps)
            if(NOT d IN_LIST enabled)
                message(FATAL_ERROR "HAPPY_MODULES: module ${m} needs module ${d}, which the list leaves out; add ${d} "
                                    "or remove ${m}")
            endif()
        endforeach()
    endforeach()
endfunction()

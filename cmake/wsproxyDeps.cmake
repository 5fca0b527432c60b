# wsproxy_add_deps(TARGET): what a user of wsproxy.h needs besides the include directory,
# on an INTERFACE target, after the options (the same names as the C macros):
#   WSPROXY_NO_TLS   ON: no BearSSL, ws:// only; WSPROXY_NO_TLS defined (empty, as a bare
#                    #define in a source file defines it: no redefinition warning)
#   WSPROXY_DEFLATE  ON: permessage-deflate; WSPROXY_DEFLATE defined, zlib linked
#   WSPROXY_TLS_OPENSSL  ON: the TLS stage on OpenSSL 3 (TLS 1.3) instead of BearSSL
# Used by the source tree's CMakeLists.txt and by the installed wsproxyConfig.cmake.
# Sets wsproxy_DEPS_ERROR (and adds nothing) when a dependency is missing.
function(wsproxy_add_deps target)
  set(wsproxy_DEPS_ERROR "" PARENT_SCOPE)
  if(WSPROXY_NO_TLS)
    target_compile_definitions(${target} INTERFACE WSPROXY_NO_TLS=)
  elseif(WSPROXY_TLS_OPENSSL)
    find_package(OpenSSL 3)
    if(NOT OPENSSL_FOUND)
      set(wsproxy_DEPS_ERROR
          "wsproxy: OpenSSL 3 not found (Debian: apt-get install libssl-dev), or set WSPROXY_TLS_OPENSSL=OFF"
          PARENT_SCOPE)
      return()
    endif()
    target_compile_definitions(${target} INTERFACE WSPROXY_TLS_OPENSSL)
    target_link_libraries(${target} INTERFACE OpenSSL::SSL OpenSSL::Crypto)
  else()
    find_path(WSPROXY_BEARSSL_INCLUDE_DIR bearssl.h)
    find_library(WSPROXY_BEARSSL_LIBRARY bearssl)
    if(NOT WSPROXY_BEARSSL_INCLUDE_DIR OR NOT WSPROXY_BEARSSL_LIBRARY)
      set(wsproxy_DEPS_ERROR
          "wsproxy: BearSSL not found (Debian: apt-get install libbearssl-dev), or set WSPROXY_NO_TLS=ON for ws:// only"
          PARENT_SCOPE)
      return()
    endif()
    target_include_directories(${target} INTERFACE ${WSPROXY_BEARSSL_INCLUDE_DIR})
    target_link_libraries(${target} INTERFACE ${WSPROXY_BEARSSL_LIBRARY})
  endif()
  if(WSPROXY_DEFLATE)
    find_package(ZLIB)
    if(NOT ZLIB_FOUND)
      set(wsproxy_DEPS_ERROR
          "wsproxy: zlib not found (Debian: apt-get install zlib1g-dev), or set WSPROXY_DEFLATE=OFF"
          PARENT_SCOPE)
      return()
    endif()
    target_compile_definitions(${target} INTERFACE WSPROXY_DEFLATE)
    target_link_libraries(${target} INTERFACE ZLIB::ZLIB)
  endif()
endfunction()

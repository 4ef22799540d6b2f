# Warnings for every target of the project: folio_set_warnings(target)
function(folio_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX,C>:-Wall -Wextra -Wpedantic -Wshadow=local -Wno-missing-field-initializers>)
  if(FOLIO_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX,C>:-Werror>)
  endif()
  if(FOLIO_NATIVE)
    # Tuning only: the instruction set stays portable (the CPU kernels pick theirs at run time).
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX,C>:-mtune=native>)
  endif()
endfunction()

# Tests: each is a program driven by CTest, or the `scalanytics` command
# driven by a script, exactly as a user runs it.
add_executable(test_proto tests/test_proto.c)
target_link_libraries(test_proto PRIVATE sxproto)
add_test(NAME proto.codec COMMAND test_proto)

add_executable(test_runtime tests/test_runtime.c)
target_link_libraries(test_runtime PRIVATE sxactors)
foreach(threads 1 2 4 8)
  add_test(NAME runtime.order.t${threads} COMMAND test_runtime order ${threads})
  add_test(NAME runtime.noloss.t${threads} COMMAND test_runtime noloss ${threads})
endforeach()
foreach(threads 2 4)
  add_test(NAME runtime.steal.t${threads} COMMAND test_runtime steal ${threads})
endforeach()
add_test(NAME runtime.idle.t4 COMMAND test_runtime idle 4)

add_executable(test_deque tests/test_deque.c)
target_link_libraries(test_deque PRIVATE sxactors)
add_test(NAME actors.deque COMMAND test_deque)
add_executable(test_tokens tests/test_tokens.c)
target_link_libraries(test_tokens PRIVATE sxactors)
add_test(NAME actors.tokens COMMAND test_tokens)

add_test(NAME cli.usage COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli_usage.sh $<TARGET_FILE:scalanytics>)
add_test(NAME demo.determinism COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/demo_determinism.sh $<TARGET_FILE:scalanytics> ${SX_DEMO_COUNT})
add_test(NAME demo.split COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/demo_split.sh $<TARGET_FILE:scalanytics> ${SX_DEMO_COUNT})
add_test(NAME demo.split.encoded COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/demo_split.sh $<TARGET_FILE:scalanytics> ${SX_DEMO_COUNT} --encode-local)
set_tests_properties(demo.split demo.split.encoded PROPERTIES RESOURCE_LOCK loopback_split)

# Sanitizer settings for every test above.
get_property(sx_all_tests DIRECTORY PROPERTY TESTS)
if(SX_SANITIZE STREQUAL "thread")
  set_tests_properties(${sx_all_tests} PROPERTIES ENVIRONMENT
    "TSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/tests/tsan.supp:second_deadlock_stack=1")
elseif(SX_SANITIZE STREQUAL "address")
  set_tests_properties(${sx_all_tests} PROPERTIES ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()

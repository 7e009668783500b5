/*
 * session.h - internal accessors of a session for the rest of the runtime.
 */
#ifndef HONE_RUNTIME_SESSION_H
#define HONE_RUNTIME_SESSION_H

#include "hone.h"

const hone_model *session_model(const hone_session *s);
const hone_session_params *session_params(const hone_session *s);
/* Tokens cached for a sequence, hone_kv_seq_len(s, seq) of them. */
const int32_t *session_seq_tokens(const hone_session *s, int32_t seq);

#endif

#ifndef SUITES_H
#define SUITES_H
#include <check.h>

Suite	*suite_buf(void);
Suite	*suite_cfg(void);
Suite	*suite_valid(void);
Suite	*suite_req(void);
Suite	*suite_out(void);
Suite	*suite_sha256(void);
Suite	*suite_crypto(void);
Suite	*suite_pw(void);
Suite	*suite_store(void);
Suite	*suite_user(void);
Suite	*suite_sess(void);
Suite	*suite_opt(void);
Suite	*suite_xapi(void);
Suite	*suite_oauth(void);
Suite	*suite_channel(void);
Suite	*suite_post(void);
Suite	*suite_audit(void);
Suite	*suite_tweetlen(void);

#endif

/*
 * The organisations' policies, as the runtime keeps them for a service whose
 * descriptor names a policy directory (ch_service.policy_dir_key): loaded
 * before init, replaced all or nothing on SIGHUP (see runtime.h). One loader
 * and one reload for every service instead of a copy in each.
 *
 * The set is replaced between loop callbacks, so a pointer into it is good
 * until the current callback returns: look an organisation up again after
 * each Redis or Kafka round trip, or copy what you need (ingest copies the
 * reference prefix into its item).
 */
#ifndef CHARTER_POLICY_STORE_H
#define CHARTER_POLICY_STORE_H

#include "charter/org_set.h"
#include "charter/runtime.h"

/* The current policies: never NULL; empty when the service has no policy
 * directory (or an optional one left empty). */
const ch_org_set *ch_runtime_orgs(const ch_runtime *rt);

#endif

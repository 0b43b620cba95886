// The lab's policy pack: `pulumi preview --policy-pack policy` (or `pulumi up --policy-pack policy`) from the
// project directory. Every policy is mandatory: a violation fails the preview or the update.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("multi-primary-mesh", { policies, enforcementLevel: "mandatory" });

import { describe, expect, it } from "vitest";
import {
  formatSourceOfTruth,
  sourceOfTruthFor,
  truthSystems,
} from "../../../src/routing/source-of-truth.js";

const truth = {
  default: "erp.netsuite",
  byTarget: [
    { target: "ads.*", system: "pim.akeneo" },
    { target: "ads.google", system: "never.reached" },
  ],
};

describe("source of truth per target system", () => {
  it("a glob wins over the default, first glob as written", () => {
    expect(sourceOfTruthFor(truth, "ads.google")).toBe("pim.akeneo");
    expect(sourceOfTruthFor(truth, "storefront.shopify")).toBe("erp.netsuite");
  });

  it("no default and no matching glob: no source of truth", () => {
    expect(sourceOfTruthFor({ default: null, byTarget: truth.byTarget }, "wms.x")).toBeNull();
  });

  it("lists each system once and reads back as written", () => {
    expect(truthSystems(truth)).toEqual(["erp.netsuite", "pim.akeneo", "never.reached"]);
    expect(formatSourceOfTruth({ default: "erp.netsuite", byTarget: [] })).toBe("erp.netsuite");
    expect(formatSourceOfTruth(truth)).toBe(
      "{ default: erp.netsuite, ads.*: pim.akeneo, ads.google: never.reached }",
    );
  });
});

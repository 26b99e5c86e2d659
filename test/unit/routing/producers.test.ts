import { describe, expect, it } from "vitest";
import { parseRoutingText } from "../../../src/routing/load.js";
import { producerName, producerRole } from "../../../src/routing/producers.js";

const FILE = `
roles:
  ops: { channel: C0OPS, members: [U0A] }
  ads: { channel: C0ADS, members: [U0B] }
  erp: { channel: C0ERP, members: [U0C] }
routes:
  - role: ops
producers:
  - producer: acme-http
    role: erp
  - sourceSystem: "ads-*"
    role: ads
  - producer: both-http
    sourceSystem: "erp.*"
    role: erp
`;

describe("producers: which role hears about a producer's rejected events", () => {
  const config = parseRoutingText(FILE, "routing.yml");

  it("maps by sourceSystem glob and by HTTP producer name, first match wins", () => {
    expect(producerRole(config, { sourceSystem: "ads-feed" })).toBe("ads");
    expect(producerRole(config, { producer: "acme-http", sourceSystem: "ads-feed" })).toBe("erp");
    expect(producerRole(config, { producer: "acme-http" })).toBe("erp");
  });

  it("needs both when a rule names both", () => {
    expect(producerRole(config, { producer: "both-http", sourceSystem: "erp.netsuite" })).toBe(
      "erp",
    );
    expect(producerRole(config, { sourceSystem: "erp.netsuite" })).toBe("ops");
  });

  it("sends a producer no rule takes, or one that named nothing, to the default role", () => {
    expect(producerRole(config, { sourceSystem: "wms" })).toBe("ops");
    expect(producerRole(config, {})).toBe("ops");
    expect(producerName({})).toBe("unknown producer");
    expect(producerName({ producer: "p", sourceSystem: "s" })).toBe("p");
  });

  it("refuses a rule with an undefined role or neither key, with the line", () => {
    expect(() =>
      parseRoutingText(`${FILE}  - sourceSystem: x\n    role: nobody\n`, "routing.yml"),
    ).toThrow(/producers\[3\]\.role: role "nobody" is not defined/);
    expect(() => parseRoutingText(`${FILE}  - role: ads\n`, "routing.yml")).toThrow(
      /give sourceSystem \(a glob\) or producer \(a name\)/,
    );
  });
});

// One home per role; a person with several roles switches between them.
import cadre from "./cadre.js";
import committee from "./committee.js";
import company from "./company.js";
import official from "./official.js";
import resident from "./resident.js";

export const HOMES = {
  OFFICIAL: official,
  ADMIN: { ...official, role: "ADMIN", title: "平台管理员" },
  CADRE: cadre,
  PROPERTY_COMPANY: company,
  OWNERS_COMMITTEE: committee,
  RESIDENT: resident,
};

// The order in which a person's first home is chosen.
export const PRIORITY = ["OFFICIAL", "CADRE", "PROPERTY_COMPANY", "OWNERS_COMMITTEE", "RESIDENT", "ADMIN"];

export const ROLE_NAMES = {
  ADMIN: "平台管理员", OFFICIAL: "镇街/区干部", CADRE: "村社干部",
  PROPERTY_COMPANY: "物业公司", OWNERS_COMMITTEE: "业委会", RESIDENT: "居民",
};

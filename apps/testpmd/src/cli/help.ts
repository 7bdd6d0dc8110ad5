// `help` and `help <section>`: the commands of a section with their syntax and one line each.
import { COMMANDS, type Section } from "./commands.js";

const SECTIONS: Readonly<Record<Section, string>> = {
  control: "Start and stop forwarding.",
  display: "Displaying port, stats and config information.",
  config: "Configuration information.",
  ports: "Configuring ports.",
};

export function helpText(section: string | undefined): string {
  if (section === undefined) {
    const lines = ["", "Help is available for the following sections:", ""];
    for (const [name, what] of Object.entries(SECTIONS)) lines.push(`    ${`help ${name}`.padEnd(32)}: ${what}`);
    lines.push(`    ${"help all".padEnd(32)}: All of the above sections.`, "");
    return `${lines.join("\n")}\n`;
  }
  const names = section === "all" ? (Object.keys(SECTIONS) as Section[]) : [section as Section];
  const out: string[] = [];
  for (const name of names) {
    out.push("", `${name[0]!.toUpperCase()}${name.slice(1)}:`, "-".repeat(name.length + 1), "");
    for (const c of COMMANDS.filter((x) => x.section === name)) out.push(c.syntax.text, `    ${c.help}`, "");
  }
  return `${out.join("\n")}\n`;
}

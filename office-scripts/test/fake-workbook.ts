// An in-memory workbook that implements the ExcelScript subset declared in
// types/excelscript.d.ts, so the Office Scripts run in Node exactly as written. `implements`
// ties it to that declaration: a member the scripts may call and this fake lacks fails tsc.
// Like Excel, setValues refuses values whose shape differs from the range's, getSelectedRange
// throws on a multi-area selection, and getUsedRange gives undefined for a blank sheet.

type CellValue = string | number | boolean; // what Microsoft's getValues/setValues carry

export class FakeWorkbook implements ExcelScript.Workbook {
  sheets: FakeWorksheet[] = [];
  active: FakeWorksheet;
  selection: FakeRange;
  areas: FakeRange[] = [];

  constructor(sheetName = "Sheet1") {
    this.active = this.addWorksheet(sheetName);
    this.selection = this.active.getRange("A1");
  }

  /** Test helper: select `address` on `sheet` (the active sheet by default). */
  select(address: string, sheet?: string): FakeRange {
    const target = sheet ? this.getWorksheet(sheet) : this.active;
    if (!target) throw new Error(`no sheet ${sheet}`);
    this.active = target;
    this.areas = address.split(",").map((part) => target.getRange(part));
    this.selection = this.areas[0];
    return this.selection;
  }

  getSelectedRange(): FakeRange {
    if (this.areas.length > 1) {
      throw new Error("InvalidOperation: getSelectedRange() cannot be used with a multi-area selection");
    }
    return this.selection;
  }

  getSelectedRanges(): ExcelScript.RangeAreas {
    const areas = this.areas.length ? this.areas : [this.selection];
    return {
      getAreaCount: () => areas.length,
      getAddress: () => areas.map((area) => area.getAddress()).join(","),
    };
  }

  getActiveWorksheet(): FakeWorksheet {
    return this.active;
  }

  getWorksheet(name: string): FakeWorksheet | undefined {
    return this.sheets.find((s) => s.getName().toLowerCase() === name.toLowerCase());
  }

  addWorksheet(name?: string): FakeWorksheet {
    const sheetName = name || `Sheet${this.sheets.length + 1}`;
    if (this.getWorksheet(sheetName)) throw new Error(`InvalidArgument: a sheet named ${sheetName} exists`);
    const sheet = new FakeWorksheet(sheetName, this);
    this.sheets.push(sheet);
    return sheet;
  }

  getWorksheets(): FakeWorksheet[] {
    return this.sheets.slice();
  }
}

export class FakeWorksheet implements ExcelScript.Worksheet {
  cells = new Map<string, CellValue>();
  bold = new Set<string>();

  constructor(private name: string, private workbook: FakeWorkbook) {}

  getName(): string {
    return this.name;
  }

  getRange(address?: string): FakeRange {
    if (!address) return this.getRangeByIndexes(0, 0, 1048576, 16384);
    const [from, to] = address.replace(/\$/g, "").split(":");
    const a = parseCell(from);
    const b = to ? parseCell(to) : a;
    return new FakeRange(this, Math.min(a.row, b.row), Math.min(a.column, b.column),
      Math.abs(a.row - b.row) + 1, Math.abs(a.column - b.column) + 1);
  }

  getRangeByIndexes(startRow: number, startColumn: number, rowCount: number, columnCount: number): FakeRange {
    return new FakeRange(this, startRow, startColumn, rowCount, columnCount);
  }

  // Microsoft declares Range; Excel returns undefined for a blank sheet, and so does this.
  getUsedRange(_valuesOnly?: boolean): FakeRange {
    let top = Infinity, left = Infinity, bottom = -1, right = -1;
    for (const [key, value] of this.cells) {
      if (value === "") continue;
      const [r, c] = key.split(",").map(Number);
      top = Math.min(top, r); left = Math.min(left, c);
      bottom = Math.max(bottom, r); right = Math.max(right, c);
    }
    return bottom < 0 ? (undefined as unknown as FakeRange)
      : new FakeRange(this, top, left, bottom - top + 1, right - left + 1);
  }

  activate(): void {
    this.workbook.active = this;
  }

  getCell(row: number, column: number): FakeRange {
    return new FakeRange(this, row, column, 1, 1);
  }

  /** Test helper: the value at an A1 address ("" when empty). */
  value(address: string): CellValue {
    const { row, column } = parseCell(address);
    return this.cells.get(`${row},${column}`) ?? "";
  }

  /** Test helper: the values of a column from row 1 down to `rows` rows. */
  column(letter: string, rows: number): CellValue[] {
    return this.getRange(`${letter}1:${letter}${rows}`).getValues().map((row) => row[0]);
  }
}

export class FakeRange implements ExcelScript.Range {
  constructor(private sheet: FakeWorksheet, private row: number, private col: number,
              private rows: number, private cols: number) {
    if (row < 0 || col < 0 || rows < 1 || cols < 1) {
      throw new Error(`InvalidArgument: range at (${row}, ${col}) of ${rows}×${cols}`);
    }
  }

  getAddress(): string {
    const start = cellName(this.row, this.col);
    const end = cellName(this.row + this.rows - 1, this.col + this.cols - 1);
    return `${this.sheet.getName()}!${start}${start === end ? "" : ":" + end}`;
  }

  getWorksheet(): FakeWorksheet { return this.sheet; }
  getRowIndex(): number { return this.row; }
  getColumnIndex(): number { return this.col; }
  getRowCount(): number { return this.rows; }
  getColumnCount(): number { return this.cols; }

  getValues(): CellValue[][] {
    const values: CellValue[][] = [];
    for (let r = 0; r < this.rows; r++) {
      const row: CellValue[] = [];
      for (let c = 0; c < this.cols; c++) {
        row.push(this.sheet.cells.get(`${this.row + r},${this.col + c}`) ?? "");
      }
      values.push(row);
    }
    return values;
  }

  setValues(values: CellValue[][]): void {
    if (values.length !== this.rows || values.some((row) => row.length !== this.cols)) {
      throw new Error(`InvalidArgument: setValues on ${this.getAddress()} (${this.rows}×${this.cols}) ` +
        `with ${values.length}×${values[0] ? values[0].length : 0} values`);
    }
    values.forEach((row, r) => row.forEach((value, c) => {
      const key = `${this.row + r},${this.col + c}`;
      if (value === "") this.sheet.cells.delete(key);
      else this.sheet.cells.set(key, value);
    }));
  }

  clear(_applyTo?: ExcelScript.ClearApplyTo): void {
    this.setValue("");
  }

  getValue(): CellValue { return this.getValues()[0][0]; }
  setValue(value: CellValue): void {
    this.setValues(Array.from({ length: this.rows }, () => Array.from({ length: this.cols }, () => value)));
  }

  getCell(row: number, column: number): FakeRange {
    return new FakeRange(this.sheet, this.row + row, this.col + column, 1, 1);
  }

  getFormat(): ExcelScript.RangeFormat {
    const bold = (on: boolean) => {
      for (let r = 0; r < this.rows; r++) for (let c = 0; c < this.cols; c++) {
        const key = `${this.row + r},${this.col + c}`;
        if (on) this.sheet.bold.add(key); else this.sheet.bold.delete(key);
      }
    };
    return { autofitColumns: () => undefined, setWrapText: () => undefined, getFont: () => ({ setBold: bold }) };
  }
}

function parseCell(address: string): { row: number; column: number } {
  const match = /^([A-Z]{1,3})([0-9]+)$/i.exec(address.trim());
  if (!match) throw new Error(`InvalidArgument: bad address ${address}`);
  let column = 0;
  for (const letter of match[1].toUpperCase()) column = column * 26 + letter.charCodeAt(0) - 64;
  return { row: Number(match[2]) - 1, column: column - 1 };
}

function cellName(row: number, column: number): string {
  let letters = "";
  for (let c = column + 1; c > 0; c = Math.floor((c - 1) / 26)) {
    letters = String.fromCharCode(65 + ((c - 1) % 26)) + letters;
  }
  return `${letters}${row + 1}`;
}

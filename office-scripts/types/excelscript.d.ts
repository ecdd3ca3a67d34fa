// The subset of Excel's Office Scripts API (the `ExcelScript` namespace) that FlaskLLM's scripts
// use. Microsoft publishes these typings only inside Excel's code editor, so this file declares
// the members we call, with the signatures Microsoft documents, for `tsc --noEmit` and for the
// in-memory workbook the tests run the scripts against (test/fake-workbook.ts implements it).
// Keep it a subset: a member added here must exist in Excel's own ExcelScript API.

declare namespace ExcelScript {
  /** What a cell holds, as getValues/setValues see it. */
  type CellValue = string | number | boolean;

  interface Workbook {
    /** The range the user selected (the first area of a multi-area selection). */
    getSelectedRange(): Range;
    getActiveWorksheet(): Worksheet;
    /** The worksheet with this name, or undefined when there is none. */
    getWorksheet(name: string): Worksheet | undefined;
    /** Adds a worksheet; the name must not be taken. */
    addWorksheet(name?: string): Worksheet;
    getWorksheets(): Worksheet[];
  }

  interface Worksheet {
    getName(): string;
    /** A range by A1 address on this sheet ("B2", "A1:C4"). */
    getRange(address?: string): Range;
    /** A range by zero-based row and column, and size. */
    getRangeByIndexes(startRow: number, startColumn: number, rowCount: number,
                      columnCount: number): Range;
    /** The smallest range that holds every used cell, or undefined for an empty sheet. */
    getUsedRange(valuesOnly?: boolean): Range | undefined;
    activate(): void;
    getCell(row: number, column: number): Range;
  }

  interface Range {
    getAddress(): string;
    getWorksheet(): Worksheet;
    /** Zero-based index of the range's first row / column on the sheet. */
    getRowIndex(): number;
    getColumnIndex(): number;
    getRowCount(): number;
    getColumnCount(): number;
    getValues(): CellValue[][];
    /** The values must have the range's exact shape. */
    setValues(values: CellValue[][]): void;
    getValue(): CellValue;
    setValue(value: CellValue): void;
    /** The cell at (row, column), relative to this range's top-left cell. */
    getCell(row: number, column: number): Range;
    getOffsetRange(rowOffset: number, columnOffset: number): Range;
    /** This range made `deltaRows` taller and `deltaColumns` wider (negative: smaller). */
    getResizedRange(deltaRows: number, deltaColumns: number): Range;
    getFormat(): RangeFormat;
    /** Clears values and formats (Excel's optional `applyTo` is not used here). */
    clear(): void;
  }

  interface RangeFormat {
    autofitColumns(): void;
    getFont(): RangeFont;
    setWrapText(wrapText: boolean): void;
  }

  interface RangeFont {
    setBold(bold: boolean): void;
  }
}

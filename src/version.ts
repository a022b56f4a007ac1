// Versions reported by `berth version` and the API; the API level is Docker's.
export const berthVersion = '0.1.0';
export const apiVersion = '1.43';
export const minApiVersion = '1.24';

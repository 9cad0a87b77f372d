// Generated from the served spec by npm run generate: do not edit.

/** Per operation, the Galileo status codes after which the call changed state at Galileo (changesState). */
export const stateChangingCodes = {
  "createAccount": [
    "0",
    "407-11",
    "407-13",
    "407-14",
    "407-15"
  ],
  "createIvrCall": [
    "0"
  ],
  "modifyOnDemandAlertStatus": [
    "0"
  ],
  "getCallStatus": [
    "0"
  ]
} as const;
